export { MatchingEngine, NO_HANDLE, REJECTED, Tif } from "./engine.ts";
export type { MatchingEngineOptions, OrderView } from "./engine.ts";
export { EngineCode, MAX_VALUE } from "./codes.ts";
export type * from "./command.ts";
export type * from "./events.ts";
export { collectEvents } from "./events.ts";
export type { SymbolConfig } from "./symbolConfig.ts";
export type { EngineSnapshot, BookSnapshot, OrderSnapshot, L2Snapshot } from "./snapshot.ts";
export { SNAPSHOT_VERSION } from "./snapshot.ts";
