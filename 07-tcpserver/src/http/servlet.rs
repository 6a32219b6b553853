//! [`Servlet`]: the code that answers a request, as a trait (sylar's abstract
//! `Servlet` class), a closure, or the built-in 404 page.

use std::fmt;

use super::request::HttpRequest;
use super::response::HttpResponse;

// ANCHOR: servlet
/// Answers requests: reads `req`, fills `resp` (status 200, empty body and
/// keep-alive as the client asked, to begin with).
///
/// One servlet serves every connection at once, from several threads, hence
/// `Send + Sync`; per-request state lives in the request and response. A
/// panic is contained: the client gets a 500 and the server carries on.
pub trait Servlet: Send + Sync + 'static {
    /// Handles one request.
    fn handle(&self, req: &HttpRequest, resp: &mut HttpResponse);

    /// A name for logs and status pages.
    fn name(&self) -> &str {
        "servlet"
    }
}

/// Any `Fn(&HttpRequest, &mut HttpResponse)` closure is a servlet (sylar's
/// `FunctionServlet`, without the wrapper).
impl<F> Servlet for F
where
    F: Fn(&HttpRequest, &mut HttpResponse) + Send + Sync + 'static,
{
    fn handle(&self, req: &HttpRequest, resp: &mut HttpResponse) {
        self(req, resp)
    }
}
// ANCHOR_END: servlet

/// A closure with a name, for when the logs should say which one ran.
pub struct FunctionServlet<F> {
    name: String,
    function: F,
}

impl<F> FunctionServlet<F>
where
    F: Fn(&HttpRequest, &mut HttpResponse) + Send + Sync + 'static,
{
    /// Wraps `function` under `name`.
    pub fn new(name: &str, function: F) -> FunctionServlet<F> {
        FunctionServlet {
            name: name.to_owned(),
            function,
        }
    }
}

impl<F> Servlet for FunctionServlet<F>
where
    F: Fn(&HttpRequest, &mut HttpResponse) + Send + Sync + 'static,
{
    fn handle(&self, req: &HttpRequest, resp: &mut HttpResponse) {
        (self.function)(req, resp)
    }

    fn name(&self) -> &str {
        &self.name
    }
}

impl<F> fmt::Debug for FunctionServlet<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FunctionServlet")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

// ANCHOR: not_found
/// The default servlet: `404 Not Found` with a small HTML page naming the
/// server, as sylar's `NotFoundServlet` does. The page is built once.
#[derive(Debug, Clone)]
pub struct NotFoundServlet {
    page: Vec<u8>,
}

impl NotFoundServlet {
    /// A 404 page signed with `server_name` (HTML-escaped).
    pub fn new(server_name: &str) -> NotFoundServlet {
        let name = html_escape(server_name);
        let page = format!(
            "<html><head><title>404 Not Found</title></head><body>\
             <center><h1>404 Not Found</h1></center><hr><center>{name}</center>\
             </body></html>\n"
        );
        NotFoundServlet {
            page: page.into_bytes(),
        }
    }
}

impl Servlet for NotFoundServlet {
    fn handle(&self, _req: &HttpRequest, resp: &mut HttpResponse) {
        resp.set_status(404);
        resp.set_content_type("text/html; charset=utf-8");
        resp.body_mut().clear();
        resp.append_body(&self.page);
    }

    fn name(&self) -> &str {
        "not-found"
    }
}
// ANCHOR_END: not_found

/// Escapes the five characters that matter in HTML text.
fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closures_and_named_functions_are_servlets() {
        let closure = |_: &HttpRequest, resp: &mut HttpResponse| resp.set_status(201);
        let named = FunctionServlet::new("created", closure);
        let mut resp = HttpResponse::default();
        closure.handle(&HttpRequest::default(), &mut resp);
        assert_eq!(resp.status(), 201);
        assert_eq!((closure.name(), named.name()), ("servlet", "created"));
    }

    #[test]
    fn not_found_page_is_escaped() {
        let servlet = NotFoundServlet::new("<x&y>");
        let mut resp = HttpResponse::default();
        resp.set_body("stale");
        servlet.handle(&HttpRequest::default(), &mut resp);
        assert_eq!(resp.status(), 404);
        let page = String::from_utf8(resp.body().to_vec()).unwrap();
        assert!(page.contains("404 Not Found") && page.contains("&lt;x&amp;y&gt;"));
        assert!(!page.contains("stale"));
    }
}
