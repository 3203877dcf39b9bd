// The macro adds nothing to the caller's namespace but the model itself: a user type named
// like a generated helper (`NetWorkspace`), or a second model of that name, does not collide.
#![deny(warnings)]

use nn::model::Model;

mod user_type {
    use nn::model::Model;

    /// The user's own type, named like `Net`'s workspace once was.
    pub struct NetWorkspace {
        pub note: &'static str,
    }

    nn::model! {
        /// A model next to it.
        pub struct Net {
            input: 3,
            Dense(2),
        }
    }

    pub fn both() -> (NetWorkspace, Net) {
        (NetWorkspace { note: "mine" }, Net::init(0))
    }
}

mod two_models {
    nn::model! {
        /// A model.
        pub struct Net {
            input: 3,
            Dense(2),
        }
    }

    nn::model! {
        /// A model named like the first one's workspace.
        pub struct NetWorkspace {
            input: 2,
            Dense(1, sigmoid),
        }
    }
}

fn main() {
    let (mine, _net) = user_type::both();
    assert_eq!(mine.note, "mine");

    let net = two_models::Net::new(0);
    let other = two_models::NetWorkspace::new(0);
    let (mut tape, mut tape2) = (nn::tape::Tape::new(), nn::tape::Tape::new());
    let eval = || nn::layers::Pass::Eval;
    assert_eq!(net.forward_batch(&mut tape, &[0.5; 6], 2, eval()).len(), 4);
    assert_eq!(other.forward_batch(&mut tape2, &[0.5; 2], 1, eval()).len(), 1);
}
