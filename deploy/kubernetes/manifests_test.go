// Package kubernetes holds the relay's Kubernetes manifests; its test checks
// that they parse and keep the invariants a real cluster's defaults demand.
package kubernetes

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// doc is one YAML document, decoded generically.
type doc map[string]any

// get walks keys (string for a map, int for a list) into d.
func (d doc) get(keys ...any) any {
	var v any = map[string]any(d)
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m := asDoc(v)
			if m == nil {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// asDoc returns v as a doc, nil when it is not a mapping (yaml decodes the
// mappings inside a doc as docs).
func asDoc(v any) doc {
	switch m := v.(type) {
	case doc:
		return m
	case map[string]any:
		return m
	}
	return nil
}

// readDocs decodes every document of a YAML file.
func readDocs(t *testing.T, path string) []doc {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []doc
	for {
		var d doc
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
}

// TestEveryYAMLParses decodes every YAML file under deploy/, each document
// naming its apiVersion and kind; promtool's rule tests (*.test.yaml) are
// not Kubernetes objects and only need to parse.
func TestEveryYAMLParses(t *testing.T) {
	n := 0
	err := filepath.WalkDir("..", func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			return err
		}
		docs := readDocs(t, path)
		if strings.HasSuffix(path, ".test.yaml") {
			return nil
		}
		for i, d := range docs {
			n++
			if d.get("apiVersion") == nil || d.get("kind") == nil {
				t.Errorf("%s: document %d has no apiVersion or kind", path, i)
			}
			if b, _ := yaml.Marshal(d); regexp.MustCompile(`:latest\b`).Match(b) {
				t.Errorf("%s: document %d uses a :latest image", path, i)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 6 {
		t.Errorf("got %d YAML documents under deploy/, want at least 6", n)
	}
}

// manifests returns the documents of the resources kustomization.yaml
// lists, by kind.
func manifests(t *testing.T) (kustomization doc, byKind map[string]doc) {
	t.Helper()
	kustomization = readDocs(t, "kustomization.yaml")[0]
	byKind = map[string]doc{}
	for _, r := range kustomization.get("resources").([]any) {
		for _, d := range readDocs(t, r.(string)) {
			byKind[d.get("kind").(string)] = d
		}
	}
	return kustomization, byKind
}

func TestDeployment(t *testing.T) {
	kustomization, byKind := manifests(t)
	dep := byKind["Deployment"]
	if dep == nil {
		t.Fatal("kustomization.yaml lists no Deployment")
	}
	pod := asDoc(dep.get("spec", "template", "spec"))
	c := asDoc(pod.get("containers", 0))

	for _, tt := range []struct {
		what string
		got  any
		want any
	}{
		{"pod runAsNonRoot", pod.get("securityContext", "runAsNonRoot"), true},
		// Numeric, and the image's user: runAsNonRoot with a named user is refused.
		{"pod runAsUser", pod.get("securityContext", "runAsUser"), imageUID(t)},
		{"pod runAsGroup", pod.get("securityContext", "runAsGroup"), imageUID(t)},
		{"pod fsGroup", pod.get("securityContext", "fsGroup"), imageUID(t)},
		{"seccomp", pod.get("securityContext", "seccompProfile", "type"), "RuntimeDefault"},
		{"readOnlyRootFilesystem", c.get("securityContext", "readOnlyRootFilesystem"), true},
		{"allowPrivilegeEscalation", c.get("securityContext", "allowPrivilegeEscalation"), false},
		{"capabilities dropped", c.get("securityContext", "capabilities", "drop", 0), "ALL"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.what, tt.got, tt.want)
		}
	}

	// Versioned image: the Deployment names it, kustomize tags it.
	image := c.get("image").(string)
	var tag string
	for _, i := range kustomization.get("images").([]any) {
		if asDoc(i).get("name") == image {
			tag, _ = asDoc(i).get("newTag").(string)
		}
	}
	if strings.Contains(image, ":") || tag == "" || tag == "latest" {
		t.Errorf("image %q, kustomization newTag %q: want an untagged name in the Deployment and a version tag in images:", image, tag)
	}

	// Resources: requests at least the measured peak, a memory limit for
	// GOMEMLIMIT to follow.
	if got, min := bytesOf(t, c.get("resources", "requests", "memory")), int64(287<<20); got < min {
		t.Errorf("requests.memory %d bytes, want at least the %d measured draining 1M records (deploy/measure.sh)", got, min)
	}
	if c.get("resources", "requests", "cpu") == nil || c.get("resources", "limits", "memory") == nil {
		t.Errorf("resources %v: want requests.cpu and limits.memory", c.get("resources"))
	}
	if b, _ := os.ReadFile("deployment.yaml"); !bytes.Contains(b, []byte("GOMEMLIMIT")) {
		t.Error("deployment.yaml does not say how GOMEMLIMIT follows the memory limit")
	}

	// The drain fits the grace period, with time to leave the group.
	grace := time.Duration(pod.get("terminationGracePeriodSeconds").(int)) * time.Second
	if drain := exampleShutdownTimeout(t); drain+5*time.Second > grace {
		t.Errorf("shutdown.timeout %v + 5s > terminationGracePeriodSeconds %v", drain, grace)
	}

	// Config mounted from the generated ConfigMap, at the path run reads.
	mounts := map[string]string{}
	for _, m := range c.get("volumeMounts").([]any) {
		m := asDoc(m)
		mounts[m.get("name").(string)] = m.get("mountPath").(string)
	}
	volumes := map[string]doc{}
	for _, v := range pod.get("volumes").([]any) {
		volumes[asDoc(v).get("name").(string)] = asDoc(v)
	}
	args := strings.Join(toStrings(c.get("args")), " ")
	generated := kustomization.get("configMapGenerator", 0, "name")
	var configMounted bool
	for name, v := range volumes {
		if cm := v.get("configMap", "name"); cm != nil && cm == generated &&
			strings.Contains(args, "--config "+mounts[name]+"/config.yaml") {
			configMounted = true
		}
	}
	if !configMounted {
		t.Errorf("want --config in the mount of the ConfigMap %v that kustomize generates; args %q, mounts %v", generated, args, mounts)
	}
	var tokenMounted bool
	for name, v := range volumes {
		if v.get("secret") != nil && mounts[name] == "/var/run/secrets/optikpi" {
			tokenMounted = true
		}
	}
	if !tokenMounted {
		t.Errorf("want the token Secret mounted at /var/run/secrets/optikpi, for token_file; mounts %v", mounts)
	}
}

func TestPodDisruptionBudget(t *testing.T) {
	_, byKind := manifests(t)
	pdb, dep := byKind["PodDisruptionBudget"], byKind["Deployment"]
	if pdb == nil {
		t.Fatal("kustomization.yaml lists no PodDisruptionBudget")
	}
	if got := pdb.get("spec", "maxUnavailable"); got != 1 {
		t.Errorf("maxUnavailable %v, want 1", got)
	}
	sel, labels := asDoc(pdb.get("spec", "selector", "matchLabels")), asDoc(dep.get("spec", "template", "metadata", "labels"))
	for k, v := range sel {
		if labels[k] != v {
			t.Errorf("PDB selects %s=%v; the pods have %v", k, v, labels)
		}
	}
}

// TestReleaseLabel checks kustomization.yaml labels the ServiceMonitor and
// the PrometheusRule for kube-prometheus-stack's selectors.
func TestReleaseLabel(t *testing.T) {
	kustomization, byKind := manifests(t)
	for _, kind := range []string{"ServiceMonitor", "PrometheusRule"} {
		if byKind[kind] == nil {
			t.Errorf("kustomization.yaml lists no %s", kind)
		}
	}
	var found bool
	for _, p := range kustomization.get("patches").([]any) {
		p := asDoc(p)
		target, _ := p.get("target", "kind").(string)
		patch, _ := p.get("patch").(string)
		if strings.Contains(patch, "/metadata/labels/release") &&
			regexp.MustCompile("^(?:"+target+")$").MatchString("ServiceMonitor") &&
			regexp.MustCompile("^(?:"+target+")$").MatchString("PrometheusRule") {
			found = true
		}
	}
	if !found {
		t.Error("want a patch adding metadata.labels.release to the ServiceMonitor and the PrometheusRule")
	}
}

// TestKEDAOptional checks the ScaledObject is a component the default
// kustomization does not apply, scaling the Deployment on the relay's group.
func TestKEDAOptional(t *testing.T) {
	kustomization, byKind := manifests(t)
	if byKind["ScaledObject"] != nil || kustomization.get("components") != nil {
		t.Error("the default kustomization applies KEDA; it must stay optional")
	}
	if got := readDocs(t, "keda/kustomization.yaml")[0].get("kind"); got != "Component" {
		t.Errorf("keda/kustomization.yaml kind %v, want Component", got)
	}
	so := readDocs(t, "keda/scaledobject.yaml")[0]
	trigger := asDoc(so.get("spec", "triggers", 0))
	if trigger.get("type") != "kafka" || trigger.get("metadata", "lagThreshold") == nil {
		t.Errorf("trigger %v: want a kafka trigger with a lagThreshold", trigger)
	}
	if got, want := trigger.get("metadata", "consumerGroup"), exampleConfig(t).get("kafka", "group"); got != want {
		t.Errorf("consumerGroup %v, want the example config's kafka.group %v", got, want)
	}
	if got := so.get("spec", "scaleTargetRef", "name"); got != byKind["Deployment"].get("metadata", "name") {
		t.Errorf("scaleTargetRef %v is not the Deployment", got)
	}
}

// TestDockerfileBakesNoConfig checks the image carries no configuration and
// runs as a numeric user.
func TestDockerfileBakesNoConfig(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "COPY") && strings.Contains(l, "config") {
			t.Errorf("Dockerfile copies a config into the image: %s", l)
		}
		if from, ok := strings.CutPrefix(l, "FROM "); ok && !strings.Contains(from, "@sha256:") {
			t.Errorf("base image not pinned by digest: %s", l)
		}
	}
	imageUID(t)
}

// TestKustomizeBuild builds the kustomization as an operator would, when
// kubectl is installed, with and without the KEDA component.
func TestKustomizeBuild(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not installed")
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(".")); err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), example, 0o644); err != nil {
		t.Fatal(err)
	}
	build := func() string {
		out, err := exec.Command(kubectl, "kustomize", dir).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl kustomize: %v\n%s", err, out)
		}
		return string(out)
	}
	out := build()
	for _, want := range []string{"kind: PodDisruptionBudget", "release: kube-prometheus-stack", "image: optikpi-relay:v", "replicas: 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("kustomize output lacks %q", want)
		}
	}
	if strings.Contains(out, "kind: ScaledObject") {
		t.Error("KEDA applied by default")
	}
	k := filepath.Join(dir, "kustomization.yaml")
	b, _ := os.ReadFile(k)
	b = bytes.Replace(b, []byte("# components:\n#   - keda"), []byte("components:\n  - keda"), 1)
	if err := os.WriteFile(k, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out = build()
	if !strings.Contains(out, "kind: ScaledObject") || strings.Contains(out, "replicas:") {
		t.Errorf("with components: [keda], want a ScaledObject and no Deployment replicas; got\n%s", out)
	}
}

// imageUID returns the Dockerfile's numeric USER, failing on a name.
func imageUID(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^USER (\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("Dockerfile sets no USER")
	}
	uid, _, _ := strings.Cut(string(m[1]), ":")
	n, err := strconv.Atoi(uid)
	if err != nil || n == 0 {
		t.Fatalf("Dockerfile USER %s: want a numeric non-root uid", m[1])
	}
	return n
}

func exampleConfig(t *testing.T) doc { return readDocs(t, "../../config.example.yaml")[0] }

func exampleShutdownTimeout(t *testing.T) time.Duration {
	s, _ := exampleConfig(t).get("shutdown", "timeout").(string)
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("config.example.yaml shutdown.timeout %q: %v", s, err)
	}
	return d
}

// bytesOf parses a Kubernetes memory quantity in Ki/Mi/Gi or plain bytes.
func bytesOf(t *testing.T, q any) int64 {
	t.Helper()
	s, _ := q.(string)
	for suffix, mult := range map[string]int64{"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			if err == nil {
				return v * mult
			}
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("memory quantity %v: want Ki, Mi, Gi or bytes", q)
	}
	return v
}

func toStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, s := range l {
		out = append(out, s.(string))
	}
	return out
}
