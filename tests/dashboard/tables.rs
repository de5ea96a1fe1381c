//! The dashboard's two tables driven like a person would (sort, page, search), each step checked
//! row by row against the API, and the browser console's errors read back from chromedriver.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::Value;

use super::{KEY, attr, wait_for};

/// A table of the page and the API route it reads (`query` ends with `?` or `&`).
pub struct TableCase {
    pub prefix: &'static str,
    pub query: &'static str,
    pub id_field: &'static str,
    pub id_attr: &'static str,
    /// The sort and order the page starts with.
    pub first_sort: (&'static str, &'static str),
    /// A column to click, and the order its first click sorts in.
    pub column: (&'static str, &'static str),
    pub page_size: usize,
}

pub struct Tables<'a> {
    pub browser: &'a Client,
    pub http: &'a reqwest::Client,
    pub base: &'a str,
}

impl Tables<'_> {
    /// The API's page for a sort, order, search and page: its total and row ids in order.
    async fn api_page(
        &self,
        case: &TableCase,
        (sort, order): (&str, &str),
        search: &str,
        page: usize,
    ) -> (u64, Vec<String>) {
        let mut url = reqwest::Url::parse(&format!("{}{}", self.base, case.query)).expect("url");
        url.query_pairs_mut()
            .append_pair("sort", sort)
            .append_pair("order", order)
            .append_pair("page", &page.to_string())
            .append_pair("page_size", &case.page_size.to_string());
        if !search.is_empty() {
            url.query_pairs_mut().append_pair("search", search);
        }
        let resp = self
            .http
            .get(url)
            .header("X-API-Key", KEY)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.expect("json");
        let ids = body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|item| item[case.id_field].as_str().expect("id").to_owned())
            .collect();
        (body["total"].as_u64().expect("total"), ids)
    }

    /// Waits until the page's table shows `want`'s rows, in order, and says `total`.
    async fn wait_rows(&self, case: &TableCase, want: &(u64, Vec<String>), what: &str) {
        let script = format!(
            "return [document.querySelector('[data-testid={p}-page]').dataset.total, \
             Array.from(document.querySelectorAll('#{p}-body tr[{a}]')).map(r => r.getAttribute('{a}'))]",
            p = case.prefix,
            a = case.id_attr
        );
        let want_total = want.0.to_string();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let shown = self
                .browser
                .execute(&script, vec![])
                .await
                .expect("read the rows");
            let (total, ids): (Option<String>, Vec<String>) =
                serde_json::from_value(shown).expect("total and ids");
            if total.as_deref() == Some(want_total.as_str()) && ids == want.1 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} {what}: the page shows {total:?} {ids:?}, the API {want:?}",
                case.prefix
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn click(&self, css: &str) {
        self.browser
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Sorting by a column (twice: both orders), paging and searching show the API's rows.
    pub async fn sort_page_and_search(&self, case: &TableCase) {
        let p = case.prefix;
        let first = self.api_page(case, case.first_sort, "", 1).await;
        assert!(!first.1.is_empty(), "{p}: the API has no rows");
        self.wait_rows(case, &first, "at first").await;

        let (column, order) = case.column;
        let other = if order == "asc" { "desc" } else { "asc" };
        for (order, aria) in [(order, order), (other, other)] {
            let aria = if aria == "asc" {
                "ascending"
            } else {
                "descending"
            };
            self.click(&format!("#{p}-table th[data-sort={column}] button"))
                .await;
            wait_for(
                self.browser,
                &format!("#{p}-table th[data-sort={column}][aria-sort={aria}]"),
            )
            .await;
            let want = self.api_page(case, (column, order), "", 1).await;
            self.wait_rows(case, &want, &format!("sorted by {column} {order}"))
                .await;
        }
        let sort = (column, other);

        let (total, _) = self.api_page(case, sort, "", 1).await;
        let next = format!("[data-testid={p}-next]");
        if total as usize > case.page_size {
            self.click(&next).await;
            wait_for(
                self.browser,
                &format!("[data-testid={p}-page][data-page='2']"),
            )
            .await;
            let want = self.api_page(case, sort, "", 2).await;
            assert_ne!(want.1, first.1);
            self.wait_rows(case, &want, "page 2").await;
        } else {
            let disabled = attr(self.browser, &next, "disabled").await;
            assert_eq!(disabled, "true", "{p}: one page, yet Next is enabled");
        }

        // Search for the last id shown: fewer rows than in all, back on page 1.
        let shown = self
            .api_page(
                case,
                sort,
                "",
                if total as usize > case.page_size {
                    2
                } else {
                    1
                },
            )
            .await;
        let term = shown.1.last().expect("a row").clone();
        let input = self
            .browser
            .find(Locator::Css(&format!("[data-testid={p}-search]")))
            .await
            .expect("search box");
        input.send_keys(&term).await.expect("type the search");
        let want = self.api_page(case, sort, &term, 1).await;
        assert!(
            want.0 >= 1 && want.0 < total,
            "{p}: searching {term:?} finds {} of {total}",
            want.0
        );
        self.wait_rows(case, &want, &format!("searching {term:?}"))
            .await;
        wait_for(
            self.browser,
            &format!("[data-testid={p}-page][data-page='1']"),
        )
        .await;
    }
}

/// What the page logged to the console at level SEVERE (errors: an uncaught exception, a
/// module that failed to load, a request the CSP refused). Chromedriver's log endpoint.
pub async fn browser_errors(browser: &Client) -> Vec<String> {
    #[derive(Debug)]
    struct BrowserLog;
    impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
        fn endpoint(
            &self,
            base_url: &url::Url,
            session_id: Option<&str>,
        ) -> Result<url::Url, url::ParseError> {
            base_url.join(&format!(
                "session/{}/se/log",
                session_id.unwrap_or_default()
            ))
        }
        fn method_and_body(&self, _: &url::Url) -> (poem::http::Method, Option<String>) {
            (
                poem::http::Method::POST,
                Some(r#"{"type":"browser"}"#.to_owned()),
            )
        }
    }
    let log = browser
        .issue_cmd(BrowserLog)
        .await
        .expect("the browser's log");
    log.as_array()
        .expect("log entries")
        .iter()
        .filter(|entry| entry["level"] == "SEVERE")
        .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}
