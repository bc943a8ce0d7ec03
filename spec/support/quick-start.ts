/** What examples/quick-start.ts prints: the lines its comments show (README quick start). */
export const QUICK_START_OUTPUT =
  "200 { msg: 'refreshed 1 warehouse(s)' }\n[ 'kargo-demo/hello-world' ]\n";
