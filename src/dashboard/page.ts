/**
 * The page's HTML shell. It holds no data and no inline script or style: the client module
 * fetches the report and builds the page with DOM APIs. The CSRF secret rides in a meta tag,
 * readable only by scripts of this origin.
 */

/**
 * The HTML of the dashboard page.
 *
 * @example
 * ```ts
 * res.end(pageHtml({ csrfToken: secret }));
 * ```
 */
export function pageHtml(options: { readonly csrfToken: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${escapeAttribute(options.csrfToken)}">
<title>tracks dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/dashboard.css">
<script src="/assets/chart.umd.js" defer></script>
<script type="module" src="/assets/client/main.js"></script>
</head>
<body>
<header class="top"><a class="brand" href="#">tracks</a><span id="store" class="muted"></span><span id="generated" class="muted"></span></header>
<main id="app"><p class="muted">Loading…</p></main>
<noscript>The tracks dashboard needs JavaScript.</noscript>
</body>
</html>
`;
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
