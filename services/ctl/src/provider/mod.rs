pub mod members;
