//! Chapter 2's demo: register variables, load `config_demo.yml` into the global
//! registry, watch the listeners fire and the `demo` logger follow its `logs:`
//! entry, see a bad value rejected, and dump everything back as YAML.
//!
//! Run with `cargo run -p sylar-config --example config_demo`.

use serde::{Deserialize, Serialize};
use sylar_log::{sylar_debug, sylar_info};

// ANCHOR: server_struct
/// A whole section read into a user type: serde derives what sylar writes by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Server {
    host: String,
    port: u16,
    #[serde(default)]
    keepalive: bool,
}
// ANCHOR_END: server_struct

// ANCHOR: main
fn main() -> Result<(), sylar_config::ConfigError> {
    let vec = sylar_config::lookup("space.vec", vec![1, 2], "the article's list")?;
    let num = sylar_config::lookup("space.num", 1_i32, "the article's number")?;
    let default_server = Server {
        host: "127.0.0.1".into(),
        port: 80,
        keepalive: false,
    };
    let server = sylar_config::lookup("server", default_server, "where to listen")?;
    num.add_listener(|old, new| println!("listener: space.num {old} -> {new}"));
    server.add_listener(|old, new| println!("listener: server.port {} -> {}", old.port, new.port));

    println!(
        "before: space.vec = {:?}, space.num = {}",
        vec.get(),
        num.get()
    );
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/config_demo.yml");
    let report = sylar_config::global().load_file(path)?;
    println!(
        "after:  space.vec = {:?}, space.num = {}",
        vec.get(),
        num.get()
    );
    println!("        server = {:?}", server.get());
    println!("changed: {:?}", report.changed);
    println!("unregistered: {:?}", report.unregistered);

    // The `logs:` entry configured this logger: level info, pattern "%p [%c] %m%n".
    let demo = sylar_log::logger("demo");
    sylar_info!(demo, "configured from YAML");
    sylar_debug!(demo, "not shown: below the configured level");
    sylar_log::flush();

    let bad = "space:\n  num: 8\nserver:\n  host: x\n  port: 99999\n";
    if let Err(err) = sylar_config::global().load_yaml_str(bad) {
        println!("rejected: {err}");
    }
    println!(
        "still:  space.num = {}, server.port = {}",
        num.get(),
        server.get().port
    );

    print!("dump_yaml():\n{}", sylar_config::global().dump_yaml());
    Ok(())
}
// ANCHOR_END: main
