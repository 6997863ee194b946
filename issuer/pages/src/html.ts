import { h, type VNode } from "preact";
import htm from "htm";

/** Tagged-template JSX for Preact (htm): no build step. */
export const html = htm.bind(h) as (strings: TemplateStringsArray, ...values: unknown[]) => VNode;
