//! `lookup` creates or returns, refuses a second type and bad names, and picks up
//! values that were loaded before the variable existed.

use std::sync::Arc;

use sylar_config::{ConfigError, Registry};

#[test]
fn lookup_returns_the_same_variable_and_ignores_the_second_default() {
    let registry = Registry::new();
    let first = registry
        .lookup("tcp.connect.timeout", 5000_u64, "ms")
        .unwrap();
    let again = registry
        .lookup("tcp.connect.timeout", 1_u64, "other")
        .unwrap();
    assert!(Arc::ptr_eq(&first, &again));
    assert_eq!(again.get(), 5000);
    assert_eq!(again.description(), "ms");
    assert_eq!(registry.names(), ["tcp.connect.timeout"]);
}

#[test]
fn the_same_name_with_another_type_is_an_error_naming_both_types() {
    let registry = Registry::new();
    let port = registry.lookup("port", 8080_u16, "").unwrap();
    let err = registry
        .lookup("port", String::from("8080"), "")
        .unwrap_err();
    match &err {
        ConfigError::TypeMismatch {
            name,
            registered,
            requested,
        } => {
            assert_eq!(name, "port");
            assert_eq!(*registered, "u16");
            assert_eq!(*requested, "alloc::string::String");
        }
        other => panic!("expected TypeMismatch, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("u16") && message.contains("String"),
        "{message}"
    );
    // Nothing was replaced or added.
    assert_eq!(port.get(), 8080);
    assert!(Arc::ptr_eq(
        &port,
        &registry.lookup::<u16>("port", 0, "").unwrap()
    ));
    assert_eq!(registry.names(), ["port"]);
}

#[test]
fn names_may_use_every_digit_lowercase_dots_and_underscores() {
    let registry = Registry::new();
    for digit in 0..=9 {
        let name = format!("worker_{digit}.threads{digit}");
        registry.lookup(&name, digit, "").unwrap();
    }
    registry
        .lookup("abcdefghijklmnopqrstuvwxyz._0123456789", 0, "")
        .unwrap();
    assert_eq!(registry.names().len(), 11);
}

#[test]
fn bad_names_are_errors_and_register_nothing() {
    let registry = Registry::new();
    for bad in ["", "Port", "max-conn", "a b", "a..b", ".a", "a.", "ü"] {
        match registry.lookup(bad, 0, "") {
            Err(ConfigError::InvalidName { name, reason }) => {
                assert_eq!(name, bad);
                assert!(!reason.is_empty());
            }
            other => panic!("{bad:?}: expected InvalidName, got {other:?}"),
        }
    }
    assert!(registry.names().is_empty());
}

#[test]
fn a_variable_registered_after_a_load_starts_from_the_loaded_value() {
    let registry = Registry::new();
    let report = registry
        .load_yaml_str("fiber:\n  stack_size: 262144\n")
        .unwrap();
    assert_eq!(report.unregistered, ["fiber"]);
    let stack = registry
        .lookup("fiber.stack_size", 131072_usize, "")
        .unwrap();
    assert_eq!(stack.get(), 262144);
    assert_eq!(stack.default_value(), &131072);
}

#[test]
fn a_late_variable_whose_loaded_value_does_not_fit_keeps_its_default() {
    let registry = Registry::new();
    registry.load_yaml_str("threads: many\n").unwrap();
    let threads = registry.lookup("threads", 4_u32, "").unwrap();
    assert_eq!(threads.get(), 4);
}

#[test]
fn the_global_registry_is_shared_and_lookup_is_its_shortcut() {
    let var = sylar_config::lookup("tests.lookup.global_shortcut", 1_u8, "").unwrap();
    let same = sylar_config::global()
        .lookup::<u8>("tests.lookup.global_shortcut", 2, "")
        .unwrap();
    assert!(Arc::ptr_eq(&var, &same));
    assert!(
        sylar_config::global()
            .names()
            .contains(&"tests.lookup.global_shortcut".to_owned())
    );
}
