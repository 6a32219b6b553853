//! The sylar server: chapter 7's HTTP server with sylar's built-in pages,
//! on built-in defaults. `cargo run --release -p sylar-tcpserver -- --help`.

fn main() {
    let options = match sylar_tcpserver::program::parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    if options.help {
        println!("{}", sylar_tcpserver::program::USAGE);
        return;
    }
    if let Err(message) = sylar_tcpserver::program::run(options) {
        eprintln!("sylar: {message}");
        std::process::exit(1);
    }
}
