/**
 * The page's HTML shell. It holds no data and no inline script or style: the client module
 * fetches the report and builds the page with DOM APIs. The CSRF secret rides in a meta tag,
 * readable only by scripts of this origin.
 *
 * On a big store the report is most of the load time, so it is asked for first: `boot.js`, an
 * async module, requests the view's report as soon as it arrives, while the other modules load
 * (each named by a modulepreload link, so they come at once rather than one import level at a
 * time). Chart.js is loaded by the views that draw charts (client/chart-library.ts).
 */

/**
 * The HTML of the dashboard page.
 *
 * @example
 * ```ts
 * res.end(pageHtml({ csrfToken: secret, modules: ['main', 'api', 'dom'] }));
 * ```
 */
export function pageHtml(options: { readonly csrfToken: string; readonly modules?: readonly string[] }): string {
  const preloads = (options.modules ?? [])
    .filter((name) => name !== 'boot' && name !== 'main' && name !== 'open')
    .map((name) => `<link rel="modulepreload" href="/assets/client/${escapeAttribute(name)}.js">\n`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${escapeAttribute(options.csrfToken)}">
<title>tracks dashboard</title>
<link rel="icon" href="data:,">
<script type="module" src="/assets/client/boot.js" async></script>
<link rel="stylesheet" href="/assets/dashboard.css">
${preloads}<script type="module" src="/assets/client/main.js"></script>
</head>
<body>
<header class="top"><a class="brand" href="#">tracks</a><span id="store" class="muted"></span><span id="generated" class="muted"></span></header>
<main id="app"><p class="muted">Loading…</p></main>
<noscript>The tracks dashboard needs JavaScript.</noscript>
</body>
</html>
`;
}

/**
 * The page that answers the address with `?token=`, once its cookie is set: it moves on to
 * `location` (the same address without the token) with its fragment, through `open.js`, or by
 * its link.
 *
 * @example
 * ```ts
 * res.end(tokenLandingHtml('/?view=1'));
 * ```
 */
export function tokenLandingHtml(location: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tracks dashboard</title>
<link rel="icon" href="data:,">
<script type="module" src="/assets/client/open.js"></script>
</head>
<body>
<p><a data-open href="${escapeAttribute(location)}">Open the dashboard</a></p>
</body>
</html>
`;
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
