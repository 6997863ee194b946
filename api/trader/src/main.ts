import { render } from "preact";
import { html } from "../../console/src/html.ts";
import { App } from "./app.ts";

const root = document.getElementById("app");
if (root) {
  root.textContent = "";
  render(html`<${App} />`, root);
}
