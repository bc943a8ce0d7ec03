// Module resolution hook: `express` → `express4` (see select-express.mjs).
export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'express') return nextResolve('express4', context);
  return nextResolve(specifier, context);
}
