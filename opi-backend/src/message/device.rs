//! DeviceRequest and DeviceResponse (channel 1, terminal → POS): display and printer output,
//! cashier input, and events.

use super::common::{Header, OverallResult, PrivateData};
use super::wire_enum::wire_enum;

wire_enum! {
    /// `RequestType` of a DeviceRequest (research notes §3.4).
    DeviceRequestType {
        /// Show or print text.
        Output = "Output",
        /// Ask the cashier or customer something.
        Input = "Input",
        /// Secure (encrypted) input.
        SecureInput = "SecureInput",
        /// Secure (encrypted) output.
        SecureOutput = "SecureOutput",
        /// Cancel a pending input.
        AbortInput = "AbortInput",
        /// Cancel a pending output.
        AbortOutput = "AbortOutput",
        /// Report something that happened at a device (a card presented, …).
        Event = "Event",
        /// Repeat the last device message.
        RepeatLastMessage = "RepeatLastMessage",
    }
}

wire_enum! {
    /// `OutDeviceTarget` / `InDeviceTarget`: the device a request addresses.
    DeviceTarget {
        /// The cashier's display.
        CashierDisplay = "CashierDisplay",
        /// The customer's display.
        CustomerDisplay = "CustomerDisplay",
        /// A generic display (Swiss ep2).
        Display = "Display",
        /// The receipt printer (often the merchant copy).
        Printer = "Printer",
        /// The receipt printer, customer copy on some terminals.
        PrinterReceipt = "PrinterReceipt",
        /// The journal printer (merchant copy on some terminals).
        JournalPrinter = "JournalPrinter",
        /// The electronic journal.
        EJournal = "E-Journal",
        /// The cashier's keyboard.
        CashierKeyboard = "CashierKeyboard",
        /// The cashier's terminal (display and keyboard).
        CashierTerminal = "CashierTerminal",
        /// The customer's keyboard.
        CustomerKeyboard = "CustomerKeyboard",
        /// The customer's terminal.
        CustomerTerminal = "CustomerTerminal",
        /// A PIN pad.
        PinPad = "PinPad",
        /// A chip card reader/writer.
        IccReaderWriter = "ICCrw",
        /// A card reader.
        CardReader = "CardReader",
        /// A vending machine's delivery box ("deliver product now?").
        DeliveryBox = "DeliveryBox",
        /// A log.
        Log = "Log",
    }
}

impl DeviceTarget {
    /// True for targets that print or store receipts.
    pub fn is_printer(&self) -> bool {
        matches!(
            self,
            Self::Printer | Self::PrinterReceipt | Self::JournalPrinter | Self::EJournal
        )
    }

    /// True for displays.
    pub fn is_display(&self) -> bool {
        matches!(
            self,
            Self::CashierDisplay | Self::CustomerDisplay | Self::Display
        )
    }
}

/// `TextLine`: one line of display or printer text; leading spaces are kept.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextLine {
    /// The text.
    pub text: String,
    /// `@Row`.
    pub row: Option<u32>,
    /// `@Column`.
    pub column: Option<u32>,
    /// `@Erase`: clear the display first.
    pub erase: Option<bool>,
    /// `@TimeOut`, seconds.
    pub timeout: Option<u32>,
    /// `@Alignment` (Left, Centred, Right, …).
    pub alignment: Option<String>,
    /// `@CharStyle1` (Bold, Italic, …).
    pub char_style: Option<String>,
    /// `@Height`.
    pub height: Option<String>,
    /// `@Width`.
    pub width: Option<String>,
    /// `@PaperCut`: cut after this line.
    pub paper_cut: Option<bool>,
    /// `@Echo`: whether keyed input is shown; `false` marks a hidden entry.
    pub echo: Option<bool>,
    /// `@Hidden`: the line is not to be shown; on an Input it marks a hidden entry.
    pub hidden: Option<bool>,
}

impl TextLine {
    /// A line holding `text` and nothing else.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }
}

/// `Output`: text for one device (a request carries up to two).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// `@OutDeviceTarget`.
    pub target: DeviceTarget,
    /// `@TicketType` (CustomerReceipt, MerchantReceipt, DccOffer; Swiss ep2).
    pub ticket_type: Option<String>,
    /// `@Immediate`.
    pub immediate: Option<bool>,
    /// `@Complete`: the last output of a document.
    pub complete: Option<bool>,
    /// `@InputSynchronize`: show together with the request's input.
    pub input_synchronize: Option<bool>,
    /// `@TimeOut`, seconds.
    pub timeout: Option<u32>,
    /// The lines, in order; none means "test the printer".
    pub text_lines: Vec<TextLine>,
}

impl Output {
    /// An output of `lines` to `target`.
    pub fn lines(target: DeviceTarget, lines: impl IntoIterator<Item = TextLine>) -> Self {
        Self {
            target,
            ticket_type: None,
            immediate: None,
            complete: None,
            input_synchronize: None,
            timeout: None,
            text_lines: lines.into_iter().collect(),
        }
    }
}

wire_enum! {
    /// The text of `Input/Command`: what is asked.
    InputCommandKind {
        /// Yes or no.
        GetConfirmation = "GetConfirmation",
        /// An amount.
        GetAmount = "GetAmount",
        /// An amount without a prompt.
        GetAmountNoPrompt = "GetAmountNoPrompt",
        /// A number with decimals.
        GetDecimals = "GetDecimals",
        /// Any key.
        GetAnyKey = "GetAnyKey",
        /// One character.
        GetChar = "GetChar",
        /// A menu choice.
        GetMenu = "GetMenu",
        /// An option key.
        GetOptionKey = "GetOptionKey",
        /// A PIN (vendor command; CheckPIN/ProcessPIN are the IFSF ones).
        GetPin = "GetPIN",
        /// Check a PIN.
        CheckPin = "CheckPIN",
        /// Process a PIN.
        ProcessPin = "ProcessPIN",
        /// Ask for a card.
        RequestCard = "RequestCard",
        /// Read a card.
        ReadCard = "ReadCard",
    }
}

/// `Input/Command` with its constraints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputCommand {
    /// What is asked.
    pub kind: InputCommandKind,
    /// `@Length`.
    pub length: Option<u32>,
    /// `@MinLength`.
    pub min_length: Option<u32>,
    /// `@MaxLength`.
    pub max_length: Option<u32>,
    /// `@Decimals`.
    pub decimals: Option<u32>,
    /// `@Separator`.
    pub separator: Option<String>,
    /// `@TimeOut`, seconds.
    pub timeout: Option<u32>,
}

impl InputCommand {
    /// A command of `kind` with no constraints.
    pub fn new(kind: InputCommandKind) -> Self {
        Self {
            kind,
            length: None,
            min_length: None,
            max_length: None,
            decimals: None,
            separator: None,
            timeout: None,
        }
    }
}

/// `Input`: a question for the cashier or customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// `@InDeviceTarget`.
    pub target: DeviceTarget,
    /// `Command`.
    pub command: InputCommand,
}

wire_enum! {
    /// `Event/@EventType` (this crate's convention: the research found no public sample).
    EventType {
        /// A card was inserted, tapped or swiped.
        CardInserted = "CardInserted" | "CardPresented",
        /// The card was removed.
        CardRemoved = "CardRemoved",
    }
}

/// `Event`: something happened at a device (`<Event EventType="CardInserted"/>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceEvent {
    /// `@EventType`.
    pub event_type: EventType,
    /// `@DeviceTarget`: where it happened.
    pub target: Option<DeviceTarget>,
    /// Text inside, if any.
    pub text: Option<String>,
}

/// A request from the terminal to the POS's devices, on channel 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRequest {
    /// Root attributes (`RequestID` is the originating channel-0 one, often with `SequenceID`).
    pub header: Header,
    /// `@RequestType`.
    pub request_type: DeviceRequestType,
    /// `Output` elements, in order.
    pub outputs: Vec<Output>,
    /// `Input`.
    pub input: Option<Input>,
    /// `Event`.
    pub event: Option<DeviceEvent>,
    /// `PrivateData`.
    pub private_data: Option<PrivateData>,
}

impl DeviceRequest {
    /// A request with a header and type and no content.
    pub fn new(header: Header, request_type: DeviceRequestType) -> Self {
        Self {
            header,
            request_type,
            outputs: Vec::new(),
            input: None,
            event: None,
            private_data: None,
        }
    }
}

/// `Output` in a response: how one output went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputResult {
    /// `@OutDeviceTarget`.
    pub target: DeviceTarget,
    /// `@OutResult`.
    pub result: OverallResult,
}

/// `InputValue`'s content: the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputValue {
    /// `InBoolean` (read from true/false/1/0; written true/false).
    Boolean(bool),
    /// `InNumber`, as typed.
    Number(String),
    /// `InString`.
    String(String),
    /// Another child (`Barcode`, …), by local name and text.
    Other {
        /// The element's local name.
        name: String,
        /// Its text.
        text: String,
    },
}

/// `Input` in a response: how the question was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputResult {
    /// `@InDeviceTarget`.
    pub target: DeviceTarget,
    /// `@InResult`.
    pub result: OverallResult,
    /// `InputValue`, when an answer was given.
    pub value: Option<InputValue>,
}

/// The POS's answer to a [`DeviceRequest`], on the same channel-1 connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceResponse {
    /// Root attributes, echoed from the request.
    pub header: Header,
    /// `@RequestType`, echoed.
    pub request_type: DeviceRequestType,
    /// `@OverallResult`.
    pub overall_result: OverallResult,
    /// One `Output` per requested output.
    pub outputs: Vec<OutputResult>,
    /// `Input`, answering the requested input.
    pub input: Option<InputResult>,
    /// `PrivateData`.
    pub private_data: Option<PrivateData>,
}

impl DeviceResponse {
    /// A response with a header, type and result and no content.
    pub fn new(
        header: Header,
        request_type: DeviceRequestType,
        overall_result: OverallResult,
    ) -> Self {
        Self {
            header,
            request_type,
            overall_result,
            outputs: Vec::new(),
            input: None,
            private_data: None,
        }
    }
}
