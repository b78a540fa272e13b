package config

import (
	"fmt"
	"strings"
)

// sourceKeys are the keys of a field rule's sources, in the order
// CheckSource names them.
var sourceKeys = []string{"path", "first_of", "const", "template", "template_json", "meta", "expr"}

// CheckSource reports a rule that gives no source or more than one. The
// mapper's compile checks every field rule (mapper.New); this is the one
// check that needs nothing but the rule.
func (r *FieldRule) CheckSource() error {
	given := []bool{r.Path != "", r.FirstOf != nil, r.Const != nil, r.Template != "", r.TemplateJSON != "", r.Meta != "", r.Expr != ""}
	n := 0
	for _, g := range given {
		if g {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("want exactly one of %s and %s", strings.Join(sourceKeys[:len(sourceKeys)-1], ", "), sourceKeys[len(sourceKeys)-1])
	}
	return nil
}
