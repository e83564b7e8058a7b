// Copies the pinned front-end libraries from node_modules/ into static/vendor/ (`npm run vendor`).
// A file is shipped with its source map, or without the map and without the comment that points to
// it: Django's ManifestStaticFilesStorage follows every sourceMappingURL, and a missing map makes
// collectstatic fail, so production would have no manifest and answer every page with a 500.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";

const VENDOR = "static/vendor";
const FILES = [
  { path: "node_modules/bootstrap/dist/css/bootstrap.min.css", map: true },
  { path: "node_modules/bootstrap/dist/js/bootstrap.bundle.min.js", map: true },
  { path: "node_modules/chart.js/dist/chart.umd.min.js", map: false },
  { path: "node_modules/chartjs-adapter-date-fns/dist/chartjs-adapter-date-fns.bundle.min.js", map: false },
  // For the browser tests only (tests/e2e/test_pages.py injects it): the pages never load it.
  { path: "node_modules/axe-core/axe.min.js", map: false },
];
const SOURCE_MAP_COMMENT = /\n?(\/\/# sourceMappingURL=[^\n]*|\/\*# sourceMappingURL=[^*]*\*\/)\s*$/;

mkdirSync(VENDOR, { recursive: true });
for (const { path, map } of FILES) {
  const target = `${VENDOR}/${basename(path)}`;
  if (map) {
    copyFileSync(path, target);
    copyFileSync(`${path}.map`, `${target}.map`);
  } else {
    writeFileSync(target, readFileSync(path, "utf8").replace(SOURCE_MAP_COMMENT, "\n"));
  }
  console.log(`vendor: ${target}${map ? " (+ map)" : ""}`);
}
