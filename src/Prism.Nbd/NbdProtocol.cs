namespace Prism.Nbd;

/// <summary>Numbers of the NBD protocol (NetworkBlockDevice/nbd doc/proto.md): fixed newstyle negotiation, simple and
/// structured replies, the base:allocation meta context.</summary>
internal static class NbdProtocol
{
    public const ulong InitMagic = 0x4e42444d41474943; // "NBDMAGIC"
    public const ulong OptionMagic = 0x49484156454F5054; // "IHAVEOPT"
    public const ulong OptionReplyMagic = 0x3e889045565a9;
    public const uint RequestMagic = 0x25609513;
    public const uint SimpleReplyMagic = 0x67446698;
    public const uint StructuredReplyMagic = 0x668e33ef;

    // Handshake flags (server) and client flags.
    public const ushort FlagFixedNewstyle = 1, FlagNoZeroes = 2;
    public const uint ClientFixedNewstyle = 1, ClientNoZeroes = 2;

    // Options.
    public const uint OptExportName = 1, OptAbort = 2, OptList = 3, OptStartTls = 5, OptInfo = 6, OptGo = 7,
        OptStructuredReply = 8, OptListMetaContext = 9, OptSetMetaContext = 10;

    // Option replies.
    public const uint RepAck = 1, RepServer = 2, RepInfo = 3, RepMetaContext = 4;
    public const uint RepErrUnsup = 0x80000001, RepErrPolicy = 0x80000002, RepErrInvalid = 0x80000003,
        RepErrPlatform = 0x80000004, RepErrTlsReqd = 0x80000005, RepErrUnknown = 0x80000006, RepErrTooBig = 0x80000009;

    // NBD_INFO_*.
    public const ushort InfoExport = 0, InfoName = 1, InfoDescription = 2, InfoBlockSize = 3;

    // Transmission flags.
    public const ushort TxHasFlags = 1, TxReadOnly = 2, TxSendFlush = 4, TxSendFua = 8, TxSendTrim = 32,
        TxSendWriteZeroes = 64, TxCanMultiConn = 256;

    // Commands and command flags.
    public const ushort CmdRead = 0, CmdWrite = 1, CmdDisc = 2, CmdFlush = 3, CmdTrim = 4, CmdCache = 5,
        CmdWriteZeroes = 6, CmdBlockStatus = 7;
    public const ushort CmdFlagFua = 1, CmdFlagNoHole = 2, CmdFlagDf = 4, CmdFlagReqOne = 8, CmdFlagFastZero = 16;

    // Structured reply chunk types and flags.
    public const ushort ReplyFlagDone = 1;
    public const ushort ReplyTypeNone = 0, ReplyTypeOffsetData = 1, ReplyTypeBlockStatus = 5, ReplyTypeError = 0x8001;

    // base:allocation status bits.
    public const uint StateHole = 1, StateZero = 2;

    // Errors (errno values the protocol uses).
    public const uint EPerm = 1, EIo = 5, ENoMem = 12, EInval = 22, ENoSpc = 28, EOverflow = 75, ENotSup = 95, EShutdown = 108;

    /// <summary>The one meta context served.</summary>
    public const string BaseAllocation = "base:allocation";

    /// <summary>The largest request payload accepted (and advertised as the maximum block size).</summary>
    public const int MaxPayload = 32 << 20;

    /// <summary>The largest option payload accepted during negotiation.</summary>
    public const int MaxOptionLength = 64 << 10;
}
