//! What every state machine of the house shares: a state stored by name in one column of one
//! table. The services' one runner (`services::runner::change_state`) writes a state through
//! this description, so no other code needs to know which column holds it.

/// The state machines, one per table with a state column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Machine {
    Application,
    Call,
    Assignment,
    Review,
    OutboxMessage,
    Grant,
    Instalment,
}

/// A state of one of the machines, stored as its name.
pub trait MachineState: Copy + Eq + std::fmt::Debug + Send + 'static {
    const MACHINE: Machine;
    /// The id of a row of this machine's table: a move names its row by the right kind of id.
    type Id: AsRef<str> + std::fmt::Debug;

    /// The name stored in the database and shown on the API.
    fn name(self) -> &'static str;
}

impl MachineState for crate::domain::application_state::ApplicationState {
    const MACHINE: Machine = Machine::Application;
    type Id = crate::domain::ids::ApplicationId;
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl MachineState for crate::domain::call::CallState {
    const MACHINE: Machine = Machine::Call;
    type Id = crate::domain::ids::CallId;
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl MachineState for crate::domain::assignment::AssignmentStatus {
    const MACHINE: Machine = Machine::Assignment;
    type Id = crate::domain::ids::AssignmentId;
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl MachineState for crate::domain::review::ReviewStatus {
    const MACHINE: Machine = Machine::Review;
    type Id = crate::domain::ids::ReviewId;
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl MachineState for crate::domain::outbox::OutboxStatus {
    const MACHINE: Machine = Machine::OutboxMessage;
    type Id = crate::domain::ids::OutboxId;
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl MachineState for crate::domain::grant::GrantState {
    const MACHINE: Machine = Machine::Grant;
    type Id = crate::domain::ids::GrantId;
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl MachineState for crate::domain::instalment::InstalmentState {
    const MACHINE: Machine = Machine::Instalment;
    type Id = crate::domain::ids::InstalmentId;
    fn name(self) -> &'static str {
        self.as_str()
    }
}
