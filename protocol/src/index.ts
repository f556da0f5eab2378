export * from "./common";
export * from "./close-codes";
export * from "./device-frames";
export * from "./live-frames";
export * from "./api";
export * from "./parse";
export * from "./responses";
