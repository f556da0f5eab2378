// Wrangler (and the vitest pool) import `.wasm` files as compiled WebAssembly modules.
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}

declare module "*?raw" {
  const text: string;
  export default text;
}
