//! A reloaded `http.request.*` limit applies to the next connection of a
//! running server. Alone in its binary: it changes the global configuration.

use std::time::Duration;

use sylar_iomanager::IoManager;
use sylar_tcpserver::HttpServer;
use sylar_tcpserver::http::{HttpConnection, HttpRequest, HttpResponse, ServletDispatch};

#[test]
fn a_reloaded_body_limit_applies_to_the_next_connection() {
    let iom = IoManager::new(1, false, "reload").unwrap();
    let mut dispatch = ServletDispatch::new();
    dispatch.add_servlet("/upload", |req: &HttpRequest, resp: &mut HttpResponse| {
        resp.set_body(req.body().len().to_string());
    });
    let server = HttpServer::new("reload", dispatch, &iom, &iom, &iom);
    server.bind(&["127.0.0.1:0".parse().unwrap()]).unwrap();
    server.start().unwrap();
    let addr = server.local_addresses()[0].to_string();
    let body = vec![b'x'; 2000];

    let mut before = HttpConnection::connect(addr.as_str(), Duration::from_secs(10)).unwrap();
    assert_eq!(before.post("/upload", &body).unwrap().status, 200);

    sylar_config::global()
        .load_yaml_str("http:\n  request:\n    max_body_size: 1000\n")
        .unwrap();
    let mut after = HttpConnection::connect(addr.as_str(), Duration::from_secs(10)).unwrap();
    assert_eq!(after.post("/upload", &body).unwrap().status, 413);
    assert_eq!(server.limits().max_body_bytes, 1000);

    server.stop(Duration::from_secs(5));
    iom.stop();
}
