//! The connection in both roles, fed any bytes in two pieces split where the
//! input says: no panic; the split changes nothing; and when the connection
//! fails, the inspector's first finding on the same bytes is the same rule.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wscope_core::connection::{Config, Connection, Event, Message};
use wscope_core::inspect::{InspectOptions, inspect};
use wscope_core::rules::Sender;

fn run(mut conn: Connection, pieces: &[&[u8]]) -> (Vec<Event>, Vec<u8>) {
    let mut events = Vec::new();
    for piece in pieces {
        conn.receive_data(piece);
        while let Some(e) = conn.next_event() {
            // Echo like a server would, so sending is exercised too.
            match &e {
                Event::Text(t) => drop(conn.send(Message::Text(t))),
                Event::Binary(b) => drop(conn.send(Message::Binary(b))),
                _ => {}
            }
            events.push(e);
        }
    }
    (events, conn.take_output())
}

fuzz_target!(|input: &[u8]| {
    let Some((&control, data)) = input.split_first() else { return };
    let split = usize::from(control).min(data.len());
    let small = control & 1 == 1;
    let config = if small {
        Config { max_frame_size: 64, max_message_size: 100, frame_events: control & 2 == 2, ..Config::default() }
    } else {
        Config::default()
    };
    for client in [false, true] {
        let make = || {
            if client {
                Connection::client(config, Box::new(|| [0x11, 0x22, 0x33, 0x44]))
            } else {
                Connection::server(config)
            }
        };
        let whole = run(make(), &[data]);
        let split_run = run(make(), &[&data[..split], &data[split..]]);
        assert_eq!(whole, split_run);
        let failure = whole.0.iter().find_map(|e| match e {
            Event::Failed(err) => Some(*err),
            _ => None,
        });
        let options = InspectOptions {
            sender: if client { Sender::Server } else { Sender::Client },
            max_frames: usize::MAX,
            max_frame_size: Some(config.max_frame_size),
            max_message_size: Some(config.max_message_size),
            deflate: None,
        };
        let report = inspect(data, &options);
        let first = report.violations().next().map(|(i, v)| (report.frames[i].offset as u64, *v));
        if let Some(err) = failure {
            assert_eq!(first, Some((err.offset, err.violation)), "connection and inspector disagree");
        }
    }
});
