package openapi

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// scalarString is how one value is written in a URL, header or form:
// strings as they are, numbers as written, booleans as true/false, null
// as "", anything else as JSON.
func scalarString(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		if x {
			return "true", nil
		}
		return "false", nil
	case float64:
		return json.Number(fmt.Sprint(x)).String(), nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(data), nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// parts splits a value into the items styles join: an array's items, an
// object's keys and values (sorted by key), or the value itself.
func parts(v any) (items []string, pairs [][2]string, err error) {
	switch x := v.(type) {
	case []any:
		for _, it := range x {
			s, err := scalarString(it)
			if err != nil {
				return nil, nil, err
			}
			items = append(items, s)
		}
		return items, nil, nil
	case map[string]any:
		for _, k := range sortedKeys(x) {
			s, err := scalarString(x[k])
			if err != nil {
				return nil, nil, err
			}
			pairs = append(pairs, [2]string{k, s})
		}
		return nil, pairs, nil
	}
	s, err := scalarString(v)
	return []string{s}, nil, err
}

// pathValue serializes a path parameter (styles simple, label, matrix).
// Every piece is percent-escaped, "/" included, so the value stays
// inside its path segment.
func (p *param) pathValue(v any) (string, error) {
	if p.jsonContent {
		data, err := json.Marshal(v)
		if err != nil {
			return "", err
		}
		return url.PathEscape(string(data)), nil
	}
	items, pairs, err := parts(v)
	if err != nil {
		return "", err
	}
	esc := func(ss []string) []string {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = url.PathEscape(s)
		}
		return out
	}
	var flat []string // items, or k,v,k,v / k=v,k=v
	if pairs != nil {
		for _, kv := range pairs {
			if p.explode {
				flat = append(flat, url.PathEscape(kv[0])+"="+url.PathEscape(kv[1]))
			} else {
				flat = append(flat, url.PathEscape(kv[0]), url.PathEscape(kv[1]))
			}
		}
	} else {
		flat = esc(items)
	}
	name := url.PathEscape(p.name)
	switch p.style {
	case "label":
		sep := ","
		if p.explode {
			sep = "."
		}
		return "." + strings.Join(flat, sep), nil
	case "matrix":
		if p.explode && pairs == nil && len(flat) > 1 {
			var b strings.Builder
			for _, it := range flat {
				b.WriteString(";" + name + "=" + it)
			}
			return b.String(), nil
		}
		if p.explode && pairs != nil {
			var b strings.Builder
			for _, kv := range pairs {
				b.WriteString(";" + url.PathEscape(kv[0]) + "=" + url.PathEscape(kv[1]))
			}
			return b.String(), nil
		}
		return ";" + name + "=" + strings.Join(flat, ","), nil
	}
	return strings.Join(flat, ","), nil
}

// queryPairs serializes a query parameter (styles form, spaceDelimited,
// pipeDelimited, deepObject) into name=value pairs, unescaped.
func (p *param) queryPairs(v any) ([][2]string, error) {
	if p.jsonContent {
		data, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		return [][2]string{{p.name, string(data)}}, nil
	}
	items, pairs, err := parts(v)
	if err != nil {
		return nil, err
	}
	_, isArray := v.([]any)
	var out [][2]string
	switch {
	case pairs != nil && p.style == "deepObject":
		for _, kv := range pairs {
			out = append(out, [2]string{p.name + "[" + kv[0] + "]", kv[1]})
		}
	case pairs != nil && p.explode:
		out = append(out, pairs...)
	case pairs != nil:
		var flat []string
		for _, kv := range pairs {
			flat = append(flat, kv[0], kv[1])
		}
		out = append(out, [2]string{p.name, strings.Join(flat, ",")})
	case isArray && p.explode:
		for _, it := range items {
			out = append(out, [2]string{p.name, it})
		}
	case isArray:
		sep := ","
		switch p.style {
		case "spaceDelimited":
			sep = " "
		case "pipeDelimited":
			sep = "|"
		}
		out = append(out, [2]string{p.name, strings.Join(items, sep)})
	default:
		out = append(out, [2]string{p.name, items[0]})
	}
	return out, nil
}

// headerValue serializes a header parameter (style simple).
func (p *param) headerValue(v any) (string, error) {
	var s string
	if p.jsonContent {
		data, err := json.Marshal(v)
		if err != nil {
			return "", err
		}
		s = string(data)
	} else {
		items, pairs, err := parts(v)
		if err != nil {
			return "", err
		}
		for _, kv := range pairs {
			if p.explode {
				items = append(items, kv[0]+"="+kv[1])
			} else {
				items = append(items, kv[0], kv[1])
			}
		}
		s = strings.Join(items, ",")
	}
	if strings.ContainsAny(s, "\r\n\x00") {
		return "", fmt.Errorf("must not contain line breaks or NUL")
	}
	return s, nil
}

// cookieValue serializes a cookie parameter (style form) as name=value,
// the value percent-encoded.
func (p *param) cookieValue(v any) (string, error) {
	pairs, err := p.queryPairs(v)
	if err != nil {
		return "", err
	}
	var out []string
	for _, kv := range pairs {
		out = append(out, kv[0]+"="+url.QueryEscape(kv[1]))
	}
	return strings.Join(out, "; "), nil
}
