package main

import (
	"io"
	"strconv"
	"strings"
)

// renderPage writes the shop's page, byte for byte what examples/basic's
// html/template page renders (a test compares the two on awkward inputs).
// It is written out by hand because html/template makes the Worker about
// 1.3 MB larger gzipped: text/template calls methods through reflection,
// which keeps every exported method of every linked type in the binary.
func renderPage(w io.Writer, d pageData) error {
	var b strings.Builder
	b.WriteString(pageHead)
	if d.Unavailable {
		b.WriteString(pageUnavailable)
		b.WriteString(pageEnd)
		_, err := io.WriteString(w, b.String())
		return err
	}
	if d.User != "" {
		b.WriteString("\n<p id=\"whoami\">Logged in as ")
		b.WriteString(escapeHTML(d.User))
		b.WriteString("</p>\n<form method=\"post\" action=\"/logout\"><button id=\"logout\" type=\"submit\">Log out</button></form>\n")
	} else {
		b.WriteString(pageAnonymous)
	}
	b.WriteString("\n<h2>Cart</h2>\n")
	if d.Full {
		b.WriteString(`<p id="full" class="note">Your cart is full: that item was not added, and everything else is still here.</p>`)
	}
	b.WriteString("\n")
	if len(d.Cart) > 0 {
		b.WriteString("<ol id=\"cart\">\n")
		for i, item := range d.Cart {
			b.WriteString(`<li id="item-` + strconv.Itoa(i) + `">` + escapeHTML(item) + "</li>\n")
		}
		b.WriteString("</ol>")
	} else {
		b.WriteString(`<p id="empty">Your cart is empty.</p>`)
	}
	b.WriteString("\n<p id=\"count\">" + strconv.Itoa(len(d.Cart)) + " item(s)</p>\n")
	b.WriteString(pageCartForm)
	b.WriteString(pageEnd)
	_, err := io.WriteString(w, b.String())
	return err
}

// escapeHTML escapes text as html/template does in element content,
// including '+' and NUL.
var escapeHTML = strings.NewReplacer(
	"\x00", "\uFFFD", `"`, "&#34;", "&", "&amp;", "'", "&#39;", "+", "&#43;", "<", "&lt;", ">", "&gt;",
).Replace

const pageHead = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tokensession shop</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.4; color: #222; }
form { margin: .6rem 0; }
input { padding: .3rem; width: 26rem; max-width: 65%; }
button { padding: .3rem .8rem; }
.note { background: #fff3cd; border: 1px solid #e0c36c; padding: .5rem .8rem; border-radius: 4px; }
#cart li { overflow-wrap: anywhere; margin: .15rem 0; }
#count { color: #666; }
</style>
</head>
<body>
<h1>tokensession shop</h1>
`

const pageAnonymous = `
<p id="anonymous">You are not logged in</p>
<form method="post" action="/login">
<label for="username">User name</label>
<input id="username" name="username" required maxlength="64" autocomplete="username">
<button id="login" type="submit">Log in</button>
</form>
`

const pageCartForm = `<form method="post" action="/cart">
<label for="item">Item</label>
<input id="item" name="item" required maxlength="200">
<button id="add" type="submit">Add to cart</button>
</form>
`

// pageUnavailable is all a page says when the session was sealed by a key
// this Worker does not have yet: no login form, no cart.
const pageUnavailable = `
<p id="unavailable" class="note">Your session is temporarily unavailable; try again in a few seconds.</p>
<p><a id="retry" href="/">Try again</a></p>
`

const pageEnd = `</body>
</html>
`
