// Renders the gateway's own OpenAPI document (served by the gateway at /openapi.json).
// A file, not an inline script, so the page's CSP needs no script hash or 'unsafe-inline'.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  // No badge fetched from validator.swagger.io: the page talks to this origin only.
  validatorUrl: null,
});
