// Allure 3 configuration used by `modemcert report` (harness/report/allure_render.py), which runs
//   allure generate <run>/allure-results --config allurerc.mjs --output <run>/allure-report
// A plain object rather than defineConfig(): a globally installed `allure` cannot be imported
// from this directory. History is one JSON-lines file that every run appends to; modemcert
// points MODEMCERT_ALLURE_HISTORY at reports/allure-history.jsonl (docs/reporting.md).
const historyPath = process.env.MODEMCERT_ALLURE_HISTORY ?? "./reports/allure-history.jsonl";

export default {
  name: "modemcert",
  output: "./allure-report",
  historyPath,
  plugins: {
    awesome: {
      options: {
        reportName: "modemcert",
        singleFile: true,
        reportLanguage: "en",
      },
    },
  },
};
