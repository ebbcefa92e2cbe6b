// The token's landing page (page.ts, tokenLandingHtml): moves on to the dashboard's address
// without the token, keeping the fragment (a link to one set's view, `#/set/checkout`). A move
// made by a page of this origin, not a redirect: see the set-cookie answer in routes.ts.
const link = document.querySelector<HTMLAnchorElement>('a[data-open]');
if (link !== null) location.replace(`${link.getAttribute('href') ?? '/'}${location.hash}`);

export {};
