//! Routing: exact paths first, then glob patterns in the order added, then
//! the default 404 page.

#[path = "common/http.rs"]
mod common;

use common::{TestServer, parse_all, parse_one};
use sylar_tcpserver::http::{
    FunctionServlet, HttpRequest, HttpResponse, NotFoundServlet, ServletDispatch,
};

fn says(text: &'static str) -> impl Fn(&HttpRequest, &mut HttpResponse) + Send + Sync + 'static {
    move |_: &HttpRequest, resp: &mut HttpResponse| resp.set_body(text)
}

#[test]
fn unknown_paths_get_the_404_page() {
    let server = TestServer::start(ServletDispatch::new());
    let resp = parse_one(
        &server.exchange(b"GET /nothing/here HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(resp.status_line, "HTTP/1.1 404 Not Found");
    assert_eq!(
        resp.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        resp.header("content-length"),
        Some(resp.body.len().to_string().as_str())
    );
    let page = resp.text();
    assert!(
        page.starts_with("<html>") && page.contains("<h1>404 Not Found</h1>"),
        "{page}"
    );
}

#[test]
fn exact_paths_win_then_globs_in_order_then_the_default() {
    let mut dispatch = ServletDispatch::new();
    dispatch.add_glob_servlet("/static/*", says("static"));
    dispatch.add_glob_servlet("/static/special/*", says("never: an earlier glob matches"));
    dispatch.add_glob_servlet("*.txt", says("text"));
    dispatch.add_servlet("/static/exact", says("exact"));
    dispatch.add_servlet("/", says("root"));
    dispatch.set_default(NotFoundServlet::new("custom-name"));
    let server = TestServer::start(dispatch);
    let mut batch = String::new();
    for path in [
        "/static/exact",
        "/static/special/x",
        "/static/",
        "/docs/a.txt",
        "/static/a.txt",
        "/",
        "/static",
        "/static/exact?query=ignored",
    ] {
        batch.push_str(&format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n"));
    }
    batch.push_str("GET /end HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let answers: Vec<_> = parse_all(&server.exchange(batch.as_bytes()))
        .iter()
        .map(|r| {
            if r.status == 404 {
                "404".to_owned()
            } else {
                r.text()
            }
        })
        .collect();
    assert_eq!(
        answers,
        [
            "exact", "static", "static", "text", "static", "root", "404", "exact", "404"
        ]
    );
}

#[test]
fn paths_are_routed_raw() {
    let mut dispatch = ServletDispatch::new();
    dispatch.add_servlet("/a%20b", says("encoded"));
    dispatch.add_servlet("/a b", says("decoded"));
    let server = TestServer::start(dispatch);
    let resp =
        parse_one(&server.exchange(b"GET /a%20b HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    assert_eq!(resp.text(), "encoded");
}

#[test]
fn servlets_see_the_request() {
    let mut dispatch = ServletDispatch::new();
    dispatch.add_servlet(
        "/inspect",
        FunctionServlet::new("inspect", |req: &HttpRequest, resp: &mut HttpResponse| {
            let text = format!(
                "{} {} {:?} {:?} {:?} {:?} {}",
                req.method(),
                req.path(),
                req.query(),
                req.query_param("name"),
                req.header("x-custom"),
                req.version(),
                req.keep_alive()
            );
            resp.set_body(text);
        }),
    );
    let server = TestServer::start(dispatch);
    let resp = parse_one(&server.exchange(
        b"DELETE /inspect?name=caf%C3%A9+au+lait&x=1 HTTP/1.1\r\nHost: t\r\nX-CUSTOM: Value\r\nConnection: close\r\n\r\n",
    ));
    assert_eq!(
        resp.text(),
        "DELETE /inspect Some(\"name=caf%C3%A9+au+lait&x=1\") Some(\"café au lait\") Some(\"Value\") Http11 false"
    );
}
