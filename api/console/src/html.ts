import { h, type VNode } from "preact";
import htm from "htm";

/** Tagged-template JSX for Preact (htm): no build step, no inline event handlers in the HTML. */
export const html = htm.bind(h) as (strings: TemplateStringsArray, ...values: unknown[]) => VNode;
