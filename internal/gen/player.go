package gen

import (
	"strconv"
	"strings"
	"time"
)

type player struct {
	id        int
	username  string
	first     string
	last      string
	email     string
	phone     string
	birthDate string
	gender    string
	country   string
	city      string
	locale    string
	currency  string
	createdAt time.Time
	status    string
	vipLevel  int
	affiliate string
	referral  string

	deposits int   // completed deposits so far
	cash     int64 // balances in minor units
	bonus    int64
}

func (p *player) idText() string { return strconv.Itoa(p.id) }

var (
	firstNames = []string{"Maria", "John", "Aisha", "Liam", "Sofia", "Mateo", "Emma", "Noah", "Olivia", "Lukas", "Chloé", "Jürgen", "Ingrid", "Kenji", "Zoë"}
	lastNames  = []string{"Borg", "Smith", "Camilleri", "Müller", "Rossi", "García", "Nowak", "Johansson", "O'Brien", "Tanaka", "Dubois", "Silva"}
	places     = []struct{ country, city, locale, currency string }{
		{"MT", "Valletta", "en", "EUR"},
		{"DE", "Berlin", "de", "EUR"},
		{"SE", "Stockholm", "sv", "SEK"},
		{"GB", "London", "en", "GBP"},
		{"CA", "Toronto", "en", "CAD"},
		{"JP", "Osaka", "ja", "JPY"},
		{"BR", "São Paulo", "pt", "BRL"},
		{"KW", "Kuwait City", "ar", "KWD"},
	}
	genders = []string{"M", "F", "X"}
)

func (g *Generator) newPlayer(id int) *player {
	first, last := g.oneOf(firstNames), g.oneOf(lastNames)
	pl := places[g.rnd.IntN(len(places))]
	p := &player{
		id:        id,
		first:     first,
		last:      last,
		username:  strings.ToLower(first[:1]+strings.ReplaceAll(last, "'", "")) + strconv.Itoa(id%1000),
		phone:     "+356" + strconv.Itoa(79000000+g.rnd.IntN(999999)),
		birthDate: time.Date(1960+g.rnd.IntN(45), time.Month(1+g.rnd.IntN(12)), 1+g.rnd.IntN(28), 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
		gender:    g.oneOf(genders),
		country:   pl.country,
		city:      pl.city,
		locale:    pl.locale,
		currency:  pl.currency,
		status:    "ACTIVE",
		referral:  "REF" + strconv.FormatInt(int64(id)*7919%1000003, 36),
	}
	p.email = strings.ToLower(strings.ReplaceAll(p.username, "'", "")) + "@example.com"
	if g.chance(0.3) {
		p.affiliate = "aff_" + strconv.Itoa(1+g.rnd.IntN(40))
	}
	return p
}

// unitsOf returns n whole currency units in p's minor units.
func (p *player) unitsOf(n int64) int64 {
	switch p.currency {
	case "JPY":
		return n * 100 // yen amounts are larger, and have no minor unit
	case "KWD":
		return n * 1000 / 3
	}
	return n * 100
}
