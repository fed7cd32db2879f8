//! The service over real HTTP (TCP on port 0): pages, the JSON API, operations.

mod binary;
mod concurrency;
mod csrf;
mod drift;
mod helpers;
mod inputs;
mod json_admin;
mod json_cors;
mod json_helpers;
mod json_interop;
mod json_jwt;
mod json_openapi;
mod json_users;
mod login;
mod logout;
mod mail;
mod malformed;
mod operations;
mod panic;
mod rate_limit;
mod redirects;
mod refresh;
mod refresh_race;
mod register;
mod throttle;
mod throttle_races;
