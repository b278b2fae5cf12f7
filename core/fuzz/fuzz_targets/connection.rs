//! The connection in both roles, with and without permessage-deflate, fed
//! any bytes in two pieces split where the input says: no panic; the split
//! changes nothing; reading in place (`read_event_in_place`) gives the same
//! events; and when the connection fails, the inspector's first finding on
//! the same bytes is the same rule.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wscope_core::connection::{Config, Connection, Event, EventRef, Message};
use wscope_core::deflate::DeflateParams;
use wscope_core::inspect::{InspectOptions, inspect};
use wscope_core::Role;
use wscope_core::stream::{Item, StreamDecoder, StreamOptions};

/// Echoes like a server would, so sending is exercised too.
fn echo(conn: &mut Connection, e: &Event) {
    match e {
        Event::Text(t) => drop(conn.send(Message::Text(t))),
        Event::Binary(b) => drop(conn.send(Message::Binary(b))),
        _ => {}
    }
}

fn run(mut conn: Connection, pieces: &[&[u8]]) -> (Vec<Event>, Vec<u8>) {
    let mut events = Vec::new();
    for piece in pieces {
        conn.receive_data(piece);
        while let Some(e) = conn.next_event() {
            echo(&mut conn, &e);
            events.push(e);
        }
    }
    (events, conn.take_output())
}

/// The same with [`Connection::read_event_in_place`] on a copy.
fn run_in_place(mut conn: Connection, pieces: &[&[u8]]) -> (Vec<Event>, Vec<u8>) {
    let mut events = Vec::new();
    for piece in pieces {
        let mut copy = piece.to_vec();
        let mut pos = 0;
        while pos < copy.len() {
            let (used, event) = conn.read_event_in_place(&mut copy[pos..]);
            let event = match event {
                Some(EventRef::Text(t)) => Event::Text(t.to_owned()),
                Some(EventRef::Binary(b)) => Event::Binary(b.to_vec()),
                Some(EventRef::Event(e)) => e,
                None => break,
            };
            echo(&mut conn, &event);
            events.push(event);
            pos += used;
        }
    }
    while let Some(e) = conn.next_event() {
        echo(&mut conn, &e);
        events.push(e);
    }
    (events, conn.take_output())
}

fuzz_target!(|input: &[u8]| {
    let Some((&control, data)) = input.split_first() else { return };
    let split = usize::from(control).min(data.len());
    let small = control & 1 == 1;
    let mut config = if small {
        Config { max_frame_size: 64, max_message_size: 100, ..Config::default() }
    } else {
        Config::default()
    };
    if control & 4 == 4 {
        config.deflate = Some(DeflateParams {
            server_no_context_takeover: control & 8 == 8,
            client_no_context_takeover: control & 16 == 16,
            ..DeflateParams::default()
        });
    }
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
        let in_place = run_in_place(make(), &[&data[..split], &data[split..]]);
        assert_eq!(whole, in_place, "read_event_in_place differs");
        let failure = whole.0.iter().find_map(|e| match e {
            Event::Failed(err) => Some(*err),
            _ => None,
        });
        let stream = StreamOptions {
            sender: Some(if client { Role::Server } else { Role::Client }),
            max_frame_size: Some(config.max_frame_size),
            max_message_size: Some(config.max_message_size),
            deflate: config.deflate,
            ..StreamOptions::default()
        };
        let report = inspect(data, &InspectOptions { stream, max_frames: usize::MAX });
        let first = report.violations().next().map(|(i, v)| (report.frames[i].offset, *v));
        if let Some(err) = failure {
            assert_eq!(first, Some((err.offset, err.violation)), "connection and inspector disagree");
        }
        // The stream decoder fed in two pieces finds the same frames.
        let mut decoder = StreamDecoder::new(stream);
        let mut items = Vec::new();
        decoder.push(&data[..split], &mut items);
        decoder.push(&data[split..], &mut items);
        let mut frames: Vec<_> = items
            .into_iter()
            .filter_map(|i| match i {
                Item::Frame(f) => Some(f),
                Item::Message(_) => None,
            })
            .collect();
        frames.extend(decoder.partial_frame().cloned());
        assert_eq!(frames, report.frames, "split stream and inspector disagree");
    }
});
