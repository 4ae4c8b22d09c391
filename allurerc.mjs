// Allure 3 configuration used by `modemcert report` (harness/report/allure_render.py), which runs
//   allure generate <run>/allure-results --config allurerc.mjs --output <a temporary directory>
// and keeps only the single-file report, as <run>/allure-report.html (docs/reporting.md).
// A plain object rather than defineConfig(): a globally installed `allure` cannot be imported
// from this directory. modemcert sets:
//   MODEMCERT_ALLURE_HISTORY        reports/allure-history.jsonl, shared by every run
//   MODEMCERT_ALLURE_HISTORY_LIMIT  runs that file keeps (Allure truncates it to the newest N)
//   MODEMCERT_ALLURE_CATEGORIES     a JSON file with the categories of fixtures/allure_out.py
//                                   (failed: limit exceeded, protocol deviation; broken: the rest)
import { readFileSync } from "node:fs";

const historyPath = process.env.MODEMCERT_ALLURE_HISTORY ?? "./reports/allure-history.jsonl";
const historyLimit = Number.parseInt(process.env.MODEMCERT_ALLURE_HISTORY_LIMIT ?? "10", 10);
const categoriesFile = process.env.MODEMCERT_ALLURE_CATEGORIES;
const categories = categoriesFile ? JSON.parse(readFileSync(categoriesFile, "utf-8")) : undefined;

export default {
  name: "modemcert",
  output: "./allure-report",
  historyPath,
  historyLimit: Number.isFinite(historyLimit) && historyLimit > 0 ? historyLimit : 10,
  ...(categories ? { categories } : {}),
  plugins: {
    awesome: {
      options: {
        reportName: "modemcert",
        singleFile: true,
        reportLanguage: "en",
        groupBy: ["parentSuite", "suite", "subSuite"],
      },
    },
  },
};
