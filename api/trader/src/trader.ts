/** The trader app's entry (not main.ts: /src/main.ts is what traversal probes of the other pages normalise to, and it must stay a 404). */
import { render } from "preact";
import { html } from "../../console/src/html.ts";
import { App } from "./app.ts";

const root = document.getElementById("app");
if (root) {
  root.textContent = "";
  render(html`<${App} />`, root);
}
