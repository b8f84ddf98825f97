//! Paging for every list command: one page by default (the service's 50, or
//! `--page-size`), `--page-token` to go on from an earlier list, `--all` to follow the
//! pages to the end. What is left is said: `next_page_token` in `--json` output, a line on
//! stderr for people.

use std::future::Future;

/// The page flags every list command takes.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PageArgs {
    /// Rows a page (0: the service's default, 50; more than 500 gives 500)
    #[arg(long, default_value_t = 0)]
    pub page_size: i32,
    /// Go on from an earlier list: the next_page_token it printed
    #[arg(long, default_value = "")]
    pub page_token: String,
    /// Follow the pages to the end and print every row
    #[arg(long)]
    pub all: bool,
}

impl PageArgs {
    /// The rows of one page, or with `--all` of every page from `--page-token` on, and the
    /// token of the page after them (empty at the end). `fetch(token)` asks for one page.
    pub async fn collect<T, F, Fut>(&self, mut fetch: F) -> anyhow::Result<(Vec<T>, String)>
    where
        F: FnMut(String) -> Fut,
        Fut: Future<Output = anyhow::Result<(Vec<T>, String)>>,
    {
        let mut rows = Vec::new();
        let mut token = self.page_token.clone();
        loop {
            let (page, next) = fetch(token).await?;
            rows.extend(page);
            if !self.all || next.is_empty() {
                return Ok((rows, next));
            }
            token = next;
        }
    }
}

/// Tells a person how to see the rows after these, when there are some.
pub fn say_more(next_page_token: &str) {
    if !next_page_token.is_empty() {
        eprintln!("more: run again with --page-token {next_page_token} (or --all for every page)");
    }
}
