/** The offline API docs page: plain HTML and a script (no inline code, so the strict CSP holds). */

export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>docket API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
</head>
<body>
<h1>docket HTTP API</h1>
<p>Every route but <code>/healthz</code> needs <code>Authorization: Bearer &lt;token&gt;</code>
(<code>docket token create</code>). The machine-readable document is <a href="openapi.json">openapi.json</a>.</p>
<main id="routes">Loading…</main>
<script src="docs/app.js"></script>
</body>
</html>
`;

/** Renders every operation of openapi.json as text (never as HTML from the document). */
export const DOCS_SCRIPT = `'use strict';
(async function () {
  const main = document.getElementById('routes');
  const base = location.pathname.replace(/\\/docs\\/?$/, '');
  const spec = await (await fetch(base + '/openapi.json')).json();
  main.textContent = '';
  const el = (tag, text) => { const node = document.createElement(tag); if (text !== undefined) node.textContent = text; return node; };
  for (const [path, operations] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(operations)) {
      const section = el('section');
      section.append(el('h2', method.toUpperCase() + ' ' + path));
      if (op.summary) section.append(el('p', op.summary));
      const details = el('details');
      details.append(el('summary', 'parameters, body and responses'));
      details.append(el('pre', JSON.stringify({ parameters: op.parameters, requestBody: op.requestBody, responses: op.responses }, null, 2)));
      section.append(details);
      main.append(section);
    }
  }
  const schemas = el('details');
  schemas.append(el('summary', 'schemas'));
  schemas.append(el('pre', JSON.stringify(spec.components && spec.components.schemas, null, 2)));
  main.append(schemas);
})();
`;
