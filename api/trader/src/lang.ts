/** The app's languages: Vietnamese (the default) and English. Its own module so that pure helpers (money.ts) carry no UI imports. */
export type Lang = "vi" | "en";
