/**
 * The parse-tree helpers moved to src/sql/parse-tree.ts; this re-export keeps `src/driver/` compiling until its
 * imports point there (drop it then).
 */
export { parseSelect, type TreeNode } from '../sql/parse-tree.js';
