// Rewrites package-lock.json from package.json and drops every URL from it: no registry
// `resolved` addresses (.npmrc omits them) and no `funding` links, which npm copies in
// from the packages but `npm ci` never reads. Run by `make client-lock`.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

execFileSync("npm", ["install", "--package-lock-only", "--no-audit", "--no-fund"], {
  stdio: "inherit",
});
const lock = JSON.parse(readFileSync("package-lock.json", "utf8"));
for (const entry of Object.values(lock.packages ?? {})) {
  delete entry.funding;
  delete entry.resolved;
}
writeFileSync("package-lock.json", `${JSON.stringify(lock, null, 2)}\n`);
