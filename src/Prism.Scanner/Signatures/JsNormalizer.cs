using System.Globalization;
using System.Numerics;
using System.Text;

namespace Prism.Scanner.Signatures;

/// <summary>
/// ClamAV 1.4's JavaScript normaliser (libclamav jsparse, as htmlnorm drives it for one <c>&lt;script&gt;</c>), a
/// byte-exact model: its tokenizer (fed piece by piece, keeping an unfinished string, number, identifier or comment
/// across pieces; a line comment ends at the first space since htmlnorm turned line breaks into spaces), its scopes
/// (names declared by <c>var</c>, function names and parameters renamed <c>n000</c>, <c>n001</c>, … per script, with
/// its quirks: a function's name belongs to the function's own scope, a comma or semicolon ends a declaration only
/// outside braces and brackets), adjacent string literals joined by <c>+</c>, <c>unescape("…")</c> decoded and
/// <c>eval("…")</c> replaced by the normalised tokens of its argument, and its output (lower case, white space as
/// spaces, a space only between two alphanumeric characters, strings in double quotes, numbers re-printed).
/// The decoders of Dean Edwards' packer (<c>function(p,a,c,k,e,r)</c> and its call's arguments) and of scriptasylum's
/// <c>dF</c> encoder run as ClamAV runs them; where ClamAV would read past its token list, <see cref="Unmodelled"/>
/// names the case.
/// </summary>
internal sealed class JsNormalizer
{
    private static readonly HashSet<string> s_keywords =
    [
        "break", "case", "catch", "continue", "default", "delete", "do", "else", "finally", "for", "function", "if", "in",
        "instanceof", "new", "return", "switch", "this", "throw", "try", "typeof", "var", "void", "while", "with",
        "null", "true", "false",
        "abstract", "boolean", "byte", "char", "class", "const", "debugger", "double", "enum", "export", "extends",
        "final", "float", "goto", "implements", "import", "int", "interface", "long", "native", "package", "private",
        "protected", "public", "short", "static", "super", "synchronized", "throws", "transient", "volatile",
    ];

    /// <summary>ClamAV's operators, longest first (matched greedily up to 5 bytes); their bytes are shared by the tokens.</summary>
    private static readonly byte[][] s_operators =
    [
        .. new[]
        {
            "=", "+", "===", ">>>", "!==", "<<", "<=", "==", ">=", ">>", "||", "--", "!=", "&&", "++", "*=", "/=", "%=", "+=",
            "-=", "<<=", ">>=", ">>>=", "&=", "^=", "|=", "&", ":", "/", "!", ">", "<", "-", "*", "|", "%", "?", "~", "^",
        }.OrderByDescending(o => o.Length).Select(o => Encoding.ASCII.GetBytes(o)),
    ];

    /// <summary>The bytes of each keyword and punctuation character, shared by the tokens (never modified).</summary>
    private static readonly Dictionary<string, byte[]> s_keywordBytes = s_keywords.ToDictionary(k => k, k => Encoding.ASCII.GetBytes(k), StringComparer.Ordinal);

    private static readonly byte[][] s_single = [.. Enumerable.Range(0, 128).Select(c => new[] { (byte)c })];

    private readonly Scope _global;
    private Scope _current;
    private List<Token> _tokens = [];
    private long _varUniq;
    private int _recursion;

    // The tokenizer.
    private readonly List<byte> _buf = [];
    private byte[] _in = [];
    private int _inSize;
    private int _pos;
    private int _lastPos;
    private LexState _state = LexState.Initial;
    private LexState _lastState;

    public JsNormalizer()
    {
        _global = new Scope(null);
        _current = _global;
    }

    private enum LexState
    {
        Initial,
        MultilineComment,
        SinglelineComment,
        Number,
        DoubleQString,
        SingleQString,
        Identifier,
        Dummy,
    }

    private enum Fsm
    {
        Base,
        InsideVar,
        InsideInitializer,
        WaitFunctionName,
        WaitParameterList,
        InsideFunctionDecl,
    }

    private enum Tok
    {
        None,
        Identifier,
        UnnormIdentifier,
        Keyword,
        Var,
        Function,
        StringLiteral,
        NumericInt,
        NumericFloat,
        BracketOpen,
        BracketClose,
        Comma,
        CurlyOpen,
        CurlyClose,
        ParOpen,
        ParClose,
        Dot,
        Semicolon,
        Plus,
        Operator,
    }

    /// <summary>The first construct met whose normalisation is not modelled, or null.</summary>
    public string? Unmodelled { get; private set; }

    /// <summary>cli_js_process_buffer: tokenises the next piece of the script and tracks declarations.</summary>
    public void Process(ReadOnlySpan<byte> piece) => ProcessBuffer(piece.ToArray());

    /// <summary>cli_js_parse_done then cli_js_output: appends this script's normalised form to <paramref name="output"/> (a line break first when it is not empty).</summary>
    public void Finish(List<byte> output)
    {
        ParseDone();
        Output(output);
    }

    private void ProcessBuffer(byte[] input)
    {
        Scope current = _current;
        _in = input;
        _inSize = input.Length;
        _pos = 0;
        _lastPos = -1;
        _lastState = LexState.Dummy;
        while (Lex() is Token val)
        {
            Tok yv = val.Type;
            switch (yv)
            {
                case Tok.Var:
                    current.Fsm = Fsm.InsideVar;
                    break;

                case Tok.Identifier:
                    string text = val.Name!;
                    if (current.LastToken == Tok.Dot)
                    {
                        val = new Token(Tok.UnnormIdentifier) { Text = Encoding.Latin1.GetBytes(text), IsString = true };
                    }
                    else
                    {
                        switch (current.Fsm)
                        {
                            case Fsm.WaitParameterList:
                            case Fsm.Base:
                            case Fsm.InsideInitializer:
                                current.Ids.TryAdd(text, -1);
                                break;
                            case Fsm.InsideVar:
                            case Fsm.InsideFunctionDecl:
                                current.Ids[text] = _varUniq++;
                                current.Fsm = Fsm.InsideInitializer;
                                current.Brackets = 0;
                                break;
                            case Fsm.WaitFunctionName:
                                current.Ids[text] = _varUniq++;
                                current.Fsm = Fsm.WaitParameterList;
                                break;
                        }
                    }

                    break;

                case Tok.ParOpen:
                    if (current.Fsm is Fsm.WaitFunctionName or Fsm.WaitParameterList)
                    {
                        current.Fsm = Fsm.InsideFunctionDecl;
                    }

                    break;

                case Tok.ParClose:
                    if (current.Fsm == Fsm.WaitParameterList)
                    {
                        current.Fsm = Fsm.Base;
                    }

                    break;

                case Tok.CurlyOpen:
                    if (current.Fsm is Fsm.WaitFunctionName or Fsm.WaitParameterList or Fsm.InsideFunctionDecl)
                    {
                        current.Fsm = Fsm.Base;
                    }

                    current.Blocks++;
                    break;

                case Tok.CurlyClose:
                    if (current.Blocks > 0)
                    {
                        current.Blocks--;
                    }

                    if (current.Blocks == 0 && current.Parent is not null)
                    {
                        // A dummy function token marks the function's end.
                        _tokens.Add(val);
                        val = new Token(Tok.Function) { Scope = null, IsEnd = true };
                        _current = current = current.Parent;
                    }

                    break;

                case Tok.BracketOpen:
                    current.Brackets++;
                    break;

                case Tok.BracketClose:
                    if (current.Brackets > 0)
                    {
                        current.Brackets--;
                    }

                    break;

                case Tok.Comma:
                    if (current.Fsm == Fsm.InsideInitializer && current.Brackets == 0 && current.Blocks == 0)
                    {
                        current.Fsm = Fsm.InsideVar;
                    }

                    break;

                case Tok.Semicolon:
                    if (current.Brackets == 0 && current.Blocks == 0)
                    {
                        current.Fsm = Fsm.Base;
                    }

                    break;

                case Tok.Function:
                    current = new Scope(_current) { Fsm = Fsm.WaitFunctionName };
                    _current = current;
                    val = new Token(Tok.Function) { Scope = current };
                    break;

                case Tok.StringLiteral:
                    if (_tokens.Count >= 2 && _tokens[^1].Type == Tok.Plus && _tokens[^2].Type == Tok.StringLiteral && _tokens[^2].Text is byte[] previous)
                    {
                        _tokens.RemoveAt(_tokens.Count - 1);
                        _tokens[^1] = _tokens[^1] with { Text = [.. previous, .. val.Text!] };
                        continue;
                    }

                    break;
            }

            _tokens.Add(val);
            current.LastToken = yv;
        }
    }

    private void ParseDone()
    {
        byte end = _state switch
        {
            LexState.DoubleQString => (byte)'"',
            LexState.SingleQString => (byte)'\'',
            _ => 0,
        };
        if (end != 0)
        {
            ProcessBuffer([end]);
        }

        int balance = 0;
        foreach (Token t in _tokens)
        {
            if (t.Type == Tok.ParOpen)
            {
                balance++;
            }
            else if (t.Type == Tok.ParClose && balance > 0)
            {
                balance--;
            }
        }

        for (; balance > 0; balance--)
        {
            _tokens.Add(new Token(Tok.ParClose) { Text = ")"u8.ToArray() });
        }

        RunFolders();
        RunDecoders();
    }

    /// <summary>unescape("…") replaced by the decoded string.</summary>
    private void RunFolders()
    {
        for (int i = 0; i < _tokens.Count; i++)
        {
            if (i + 2 < _tokens.Count && _tokens[i].Type == Tok.Identifier && _tokens[i].Name == "unescape" && _tokens[i + 1].Type == Tok.ParOpen
                && _tokens[i + 2].Type == Tok.StringLiteral && i + 4 <= _tokens.Count)
            {
                var decoded = new Token(Tok.StringLiteral) { Text = Unescape(_tokens[i + 2].Text ?? []), IsString = true };
                _tokens.RemoveRange(i, 4);
                _tokens.Insert(i, decoded);
            }
        }
    }

    private void RunDecoders()
    {
        for (int i = 0; i < _tokens.Count; i++)
        {
            (int Begin, int End, byte[]? Text) res = (0, 0, null);
            bool append = false;
            Token t = _tokens[i];
            if (t.Type == Tok.Function && i + 13 < _tokens.Count)
            {
                string? name = null;
                i++;
                if (_tokens[i].Type == Tok.Identifier)
                {
                    name = _tokens[i].Name;
                    i++;
                }

                if (MatchParameters(i, "p", "a", "c", "k", "e", "r") || MatchParameters(i, "p", "a", "c", "k", "e", "d"))
                {
                    res = HandlePacker(i, name);
                }
            }
            else if (i + 2 < _tokens.Count && t.Type == Tok.Identifier && t.Name == "dF" && _tokens[i + 1].Type == Tok.ParOpen)
            {
                int start = i + 2;
                if (_tokens[start].Type == Tok.StringLiteral && _tokens[start].Text is byte[] str)
                {
                    if (str.Length == 0)
                    {
                        Unmodelled ??= "the dF decoder on an empty string";
                    }
                    else
                    {
                        // scriptasylum's encoder: unescape, subtract the last digit from every byte, unescape again.
                        byte last = (byte)(str[^1] - '0');
                        byte[] s1 = Unescape(str[..^1]);
                        for (int k = 0; k < s1.Length; k++)
                        {
                            s1[k] -= last;
                        }

                        int nul = Array.IndexOf(s1, (byte)0);
                        res = (start - 2, start + 2, Unescape(nul < 0 ? s1 : s1[..nul]));
                        append = true;
                    }
                }
            }
            else if (i + 2 < _tokens.Count && t.Type == Tok.Identifier && t.Name == "eval" && _tokens[i + 1].Type == Tok.ParOpen)
            {
                int start = i + 2;
                if (_tokens[start].IsString && _tokens[start].Text is byte[] code && start + 1 < _tokens.Count && _tokens[start + 1].Type == Tok.ParClose)
                {
                    res = (start - 2, start + 2, code);
                }
            }

            if (res.End > res.Begin)
            {
                if (res.End < _tokens.Count && _tokens[res.End].Type == Tok.Semicolon)
                {
                    res.End++;
                }

                List<Token> parent = _tokens;
                _tokens = [];
                if (++_recursion <= 16)
                {
                    ProcessBuffer(res.Text!);
                    _recursion--;
                }

                if (res.Begin < parent.Count && res.End <= parent.Count)
                {
                    parent.RemoveRange(res.Begin, res.End - res.Begin);
                    if (append)
                    {
                        parent.AddRange(_tokens);
                    }
                    else
                    {
                        parent.InsertRange(res.Begin, _tokens);
                    }
                }
                else if (append)
                {
                    parent.AddRange(_tokens);
                }

                _tokens = parent;
            }

            if (i < _tokens.Count)
            {
                UpdateScope(_tokens[i]);
            }
        }
    }

    /// <summary>
    /// handle_de: for Dean Edwards' packer declared at <paramref name="start"/> (its parameter list), the arguments of
    /// its call (after the function's end, or of the last call by <paramref name="name"/>) decoded; the range of those
    /// arguments is replaced by the decoded script's tokens.
    /// </summary>
    private (int Begin, int End, byte[]? Text) HandlePacker(int start, string? name)
    {
        int count = _tokens.Count;
        int nesting = 1;
        int i;
        for (i = start; i < count; i++)
        {
            if (_tokens[i].Type == Tok.Function)
            {
                nesting += _tokens[i].Scope is not null ? 1 : -1;
                if (nesting == 0)
                {
                    break;
                }
            }
        }

        if (nesting != 0)
        {
            return (0, 0, null);
        }

        var parameters = new int[6];
        Array.Fill(parameters, -1);
        byte[]? text = null;
        int first = -1;
        if (name is not null)
        {
            // Measured (clamscan 1.4.6): every call is decoded, the decoded texts joined, and the range replaced runs
            // from the first call's arguments to the last call's.
            for (; i + 2 < count; i++)
            {
                if (_tokens[i].Type == Tok.Identifier && _tokens[i].Name == name && _tokens[i + 1].Type == Tok.ParOpen)
                {
                    i += 2;
                    if (CollectArguments(ref i, parameters))
                    {
                        first = first < 0 ? parameters[0] : first;
                        text = [.. text ?? [], .. DecodePacker(parameters)];
                    }
                }
            }

            if (first >= 0)
            {
                parameters[0] = first;
            }
        }
        else
        {
            while (i < count && _tokens[i].Type != Tok.ParOpen)
            {
                i++;
            }

            i++;
            if (i >= count)
            {
                return (0, 0, null);
            }

            if (CollectArguments(ref i, parameters))
            {
                text = DecodePacker(parameters);
            }
        }

        if (parameters[0] < 0 || parameters[5] < 0)
        {
            return (0, 0, null);
        }

        if (parameters[5] + 3 >= count)
        {
            Unmodelled ??= "Dean Edwards' packer call at the script's end";
            return (0, 0, null);
        }

        int end = parameters[5] + 1;
        end += _tokens[end].Type == Tok.BracketOpen && _tokens[end + 1].Type == Tok.BracketClose && _tokens[end + 2].Type == Tok.ParClose ? 3 : 1;
        return (parameters[0], end, text ?? []);
    }

    /// <summary>The six call arguments' first tokens (each argument up to a comma, the last up to a parenthesis); false when the tokens end first.</summary>
    private bool CollectArguments(ref int i, int[] parameters)
    {
        int count = _tokens.Count;
        int j;
        for (j = 0; j < 6 && i < count; j++)
        {
            parameters[j] = i++;
            Tok until = j != 5 ? Tok.Comma : Tok.ParClose;
            while (i < count && _tokens[i].Type != until)
            {
                i++;
            }

            if (i >= count)
            {
                Unmodelled ??= "Dean Edwards' packer call cut short";
            }

            i++;
        }

        return j == 6;
    }

    /// <summary>decode_de: each alphanumeric word of p read as a number in base a and replaced by that word of k ('|'-separated) when it has one.</summary>
    private byte[] DecodePacker(int[] parameters)
    {
        byte[]? p = CString(_tokens[parameters[0]]);
        long a = _tokens[parameters[1]].Type == Tok.NumericInt ? _tokens[parameters[1]].Int : -1;
        byte[]? k = _tokens[parameters[3]].IsString ? _tokens[parameters[3]].Text : null;
        if (p is null || k is null)
        {
            return [];
        }

        var words = new List<byte[]>();
        int from = 0;
        for (int bar = Array.IndexOf(k, (byte)'|'); bar >= 0; bar = Array.IndexOf(k, (byte)'|', from))
        {
            words.Add(k[from..bar]);
            from = bar + 1;
        }

        words.Add(k[from..]);
        var output = new List<byte>();
        int pi = 0;
        do
        {
            while (pi < p.Length && !IsAlnum(p[pi]))
            {
                if (p[pi] == (byte)'\\' && pi + 1 < p.Length && (p[pi + 1] == (byte)'\'' || p[pi + 1] == (byte)'"'))
                {
                    pi++;
                }
                else
                {
                    output.Add(p[pi++]);
                }
            }

            if (pi >= p.Length)
            {
                break;
            }

            uint val = 0;
            int o = pi;
            while (pi < p.Length && IsAlnum(p[pi]))
            {
                byte v = p[pi++];
                uint x = v >= (byte)'a' ? (uint)(10 + v - 'a') : v >= (byte)'A' ? (uint)(36 + v - 'A') : (uint)(v - '0');
                val = unchecked((uint)(((long)val * a) + x));
            }

            if (val >= (uint)words.Count || words[(int)val].Length == 0)
            {
                output.AddRange(p[o..pi]);
            }
            else
            {
                output.AddRange(words[(int)val]);
            }
        }
        while (pi < p.Length);
        return [.. output];
    }

    /// <summary>TOKEN_GET(token, cstring): the text of a string, name, keyword, operator or punctuation token; null for numbers and functions.</summary>
    private static byte[]? CString(Token t) => t.Type switch
    {
        Tok.Identifier => Encoding.Latin1.GetBytes(t.Name!),
        Tok.NumericInt or Tok.NumericFloat or Tok.Function => null,
        _ => t.Text,
    };

    private bool MatchParameters(int i, params string[] names)
    {
        if (_tokens[i].Type != Tok.ParOpen)
        {
            return false;
        }

        i++;
        for (int j = 0; j < names.Length; j++)
        {
            if (_tokens[i].Type != Tok.Identifier || _tokens[i].Name != names[j])
            {
                return false;
            }

            i++;
            if ((j + 1 < names.Length && _tokens[i].Type != Tok.Comma) || (j + 1 == names.Length && _tokens[i].Type != Tok.ParClose))
            {
                return false;
            }

            i++;
        }

        return true;
    }

    /// <summary>state_update_scope: false for the dummy token ending a function.</summary>
    private bool UpdateScope(Token t)
    {
        if (t.Type != Tok.Function)
        {
            return true;
        }

        if (t.Scope is not null)
        {
            _current = t.Scope;
            return true;
        }

        if (_current.Parent is not null)
        {
            _current = _current.Parent;
        }

        return false;
    }

    private void Output(List<byte> file)
    {
        var o = new OutBuffer(file);
        if (file.Count > 0)
        {
            o.PutC((byte)'\n');
        }

        o.PutS("<script>"u8);
        _current = _global;
        byte last = 0;
        foreach (Token t in _tokens)
        {
            if (UpdateScope(t))
            {
                last = OutputToken(t, o, last);
            }
        }

        if (!o.EndsWithScriptClose())
        {
            o.PutS("</script>"u8);
        }
    }

    private byte OutputToken(Token t, OutBuffer o, byte last)
    {
        switch (t.Type)
        {
            case Tok.StringLiteral:
                Space(last, (byte)'"', o);
                o.PutC((byte)'"');
                if (t.Text is byte[] s)
                {
                    o.PutS(s);
                }

                o.PutC((byte)'"');
                return (byte)'"';

            case Tok.NumericInt:
                Space(last, (byte)'0', o);
                o.PutS(Encoding.ASCII.GetBytes(t.Int.ToString(CultureInfo.InvariantCulture)));
                return (byte)'0';

            case Tok.NumericFloat:
                Space(last, (byte)'0', o);
                o.PutS(Encoding.ASCII.GetBytes(FormatG(t.Float)));
                return (byte)'0';

            case Tok.Identifier:
                Space(last, (byte)'a', o);
                long id = Lookup(t.Name!);
                if (id == -1)
                {
                    o.PutS(t.Name!);
                }
                else
                {
                    o.PutS("n" + id.ToString("D3", CultureInfo.InvariantCulture));
                }

                return (byte)'a';

            case Tok.Function:
                Space(last, (byte)'a', o);
                o.PutS("function"u8);
                return (byte)'a';

            default:
                if (t.Text is not byte[] text)
                {
                    return 0;
                }

                if (text.Length > 0)
                {
                    Space(last, text[0], o);
                }
                else
                {
                    Space(last, 0, o);
                }

                o.PutS(text);
                return text.Length > 0 ? text[^1] : (byte)0;
        }
    }

    private static void Space(byte last, byte current, OutBuffer o)
    {
        if (IsAlnum(last) && IsAlnum(current))
        {
            o.PutC((byte)' ');
        }
    }

    private long Lookup(string name)
    {
        for (Scope? s = _current; s is not null; s = s.Parent)
        {
            if (s.Ids.TryGetValue(name, out long id) && id != -1)
            {
                return id;
            }
        }

        return -1;
    }

    // ---------------- tokenizer ----------------
    private Token? Lex()
    {
        if (_pos == _lastPos && _lastState == _state)
        {
            _pos++;
        }

        _lastPos = _pos;
        _lastState = _state;
        while (_pos < _inSize)
        {
            switch (_state)
            {
                case LexState.Initial:
                    _buf.Clear();
                    byte c = _in[_pos++];
                    switch (CharClass(c))
                    {
                        case Class.Whitespace:
                        case Class.Nop:
                            continue;
                        case Class.Slash:
                            if (_pos < _inSize)
                            {
                                if (_in[_pos] == (byte)'*')
                                {
                                    _state = LexState.MultilineComment;
                                    _pos++;
                                    continue;
                                }

                                if (_in[_pos] == (byte)'/')
                                {
                                    _state = LexState.SinglelineComment;
                                    _pos++;
                                    continue;
                                }
                            }

                            _pos--;
                            return ParseOperator();
                        case Class.Operator:
                            _pos--;
                            return ParseOperator();
                        case Class.DQuote:
                            return ParseString((byte)'"', LexState.DoubleQString);
                        case Class.SQuote:
                            return ParseString((byte)'\'', LexState.SingleQString);
                        case Class.Digit:
                            _pos--;
                            return ParseNumber();
                        case Class.IdStart:
                            _pos--;
                            return ParseId();
                        default:
                            return Special(c);
                    }

                case LexState.DoubleQString:
                    return ParseString((byte)'"', LexState.DoubleQString);
                case LexState.SingleQString:
                    return ParseString((byte)'\'', LexState.SingleQString);
                case LexState.Identifier:
                    return ParseId();
                case LexState.Number:
                    return ParseNumber();
                case LexState.MultilineComment:
                    while (_pos + 1 < _inSize)
                    {
                        if (_in[_pos] == (byte)'*' && _in[_pos + 1] == (byte)'/')
                        {
                            _state = LexState.Initial;
                            _pos++;
                            break;
                        }

                        _pos++;
                    }

                    _pos++;
                    break;
                case LexState.SinglelineComment:
                    while (_pos < _inSize && _in[_pos] != (byte)'\n' && _in[_pos] != (byte)' ')
                    {
                        _pos++;
                    }

                    _state = LexState.Initial;
                    break;
            }
        }

        return null;
    }

    private static Token Special(byte c) => new(c switch
    {
        (byte)'[' => Tok.BracketOpen,
        (byte)']' => Tok.BracketClose,
        (byte)',' => Tok.Comma,
        (byte)'{' => Tok.CurlyOpen,
        (byte)'}' => Tok.CurlyClose,
        (byte)'(' => Tok.ParOpen,
        (byte)')' => Tok.ParClose,
        (byte)'.' => Tok.Dot,
        _ => Tok.Semicolon,
    })
    { Text = s_single[c] };

    private Token? ParseString(byte quote, LexState toState)
    {
        int start = _pos;
        int end = start;
        int found;
        while (true)
        {
            int rel = _in.AsSpan(end, _inSize - end).IndexOf(quote);
            found = rel < 0 ? -1 : end + rel;
            if (found >= 0 && found > start && _in[found - 1] == (byte)'\\')
            {
                end = found + 1;
                continue;
            }

            break;
        }

        int len = found >= 0 ? found - start : _inSize - _pos;
        AppendNormalize(_in.AsSpan(start, len));
        if (found >= 0)
        {
            _pos += len + 1;
            byte[] s = [.. _buf];
            _buf.Clear();
            _state = LexState.Initial;
            return new Token(Tok.StringLiteral) { Text = s, IsString = true };
        }

        _pos += len;
        _state = toState;
        return null;
    }

    /// <summary>cli_textbuffer_append_normalize: JavaScript escapes in a string literal.</summary>
    private void AppendNormalize(ReadOnlySpan<byte> s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            int c = s[i];
            if (c == '\\' && i + 1 < s.Length)
            {
                i++;
                switch (s[i])
                {
                    case (byte)'0': c = 0; break;
                    case (byte)'b': c = 8; break;
                    case (byte)'t': c = 9; break;
                    case (byte)'n': c = 10; break;
                    case (byte)'v': c = 11; break;
                    case (byte)'f': c = 12; break;
                    case (byte)'r': c = 13; break;
                    case (byte)'x':
                        if (i + 2 < s.Length)
                        {
                            c = (Math.Max(0, HexValue(s[i + 1])) << 4) | HexValue(s[i + 2]);
                        }

                        i += 2;
                        break;
                    case (byte)'u':
                        if (i + 4 < s.Length)
                        {
                            int u = (Math.Max(0, HexValue(s[i + 1])) << 12) | (Math.Max(0, HexValue(s[i + 2])) << 8)
                                | (Math.Max(0, HexValue(s[i + 3])) << 4) | HexValue(s[i + 4]);
                            OutputUtf8((ushort)u, _buf);
                            i += 4;
                            continue;
                        }

                        break;
                    default:
                        c = s[i];
                        break;
                }
            }

            byte b = (byte)c;
            _buf.Add(b == 0 ? (byte)1 : b);
        }
    }

    private static void OutputUtf8(ushort u, List<byte> dst)
    {
        if (u == 0)
        {
            dst.Add(1);
        }
        else if (u < 0x80)
        {
            dst.Add((byte)u);
        }
        else if (u < 0x800)
        {
            dst.Add((byte)(0xC0 | (u >> 6)));
            dst.Add((byte)(0x80 | (u & 0x3F)));
        }
        else
        {
            dst.Add((byte)(0xE0 | (u >> 12)));
            dst.Add((byte)(0x80 | ((u >> 6) & 0x3F)));
            dst.Add((byte)(0x80 | (u & 0x3F)));
        }
    }

    /// <summary>cli_unescape: %XX and %uXXXX decoded (the latter as UTF-8), a NUL written as 1.</summary>
    private static byte[] Unescape(byte[] s)
    {
        var r = new List<byte>(s.Length);
        for (int k = 0; k < s.Length; k++)
        {
            byte c = s[k];
            if (c == (byte)'%')
            {
                if (k + 5 >= s.Length || s[k + 1] != (byte)'u' || !IsXDigit(s[k + 2]) || !IsXDigit(s[k + 3]) || !IsXDigit(s[k + 4]) || !IsXDigit(s[k + 5]))
                {
                    if (k + 2 < s.Length && IsXDigit(s[k + 1]) && IsXDigit(s[k + 2]))
                    {
                        c = (byte)((HexValue(s[k + 1]) << 4) | HexValue(s[k + 2]));
                        k += 2;
                    }
                }
                else
                {
                    int u = (HexValue(s[k + 2]) << 12) | (HexValue(s[k + 3]) << 8) | (HexValue(s[k + 4]) << 4) | HexValue(s[k + 5]);
                    OutputUtf8((ushort)u, r);
                    k += 5;
                    continue;
                }
            }

            r.Add(c == 0 ? (byte)1 : c);
        }

        return [.. r];
    }

    private Token? ParseNumber()
    {
        bool isFloat = false;
        while (_pos < _inSize)
        {
            byte c = _in[_pos++];
            if (IsDigit(c))
            {
                _buf.Add(c);
                continue;
            }

            if (c == (byte)'.' && !isFloat)
            {
                isFloat = true;
                _buf.Add(c);
                continue;
            }

            if ((c == (byte)'e' || c == (byte)'E') && isFloat)
            {
                _buf.Add(c);
                if (_pos < _inSize)
                {
                    c = _in[_pos++];
                    if (c == (byte)'+' || c == (byte)'-' || IsDigit(c))
                    {
                        _buf.Add(c);
                        continue;
                    }
                }
            }

            _pos--;
            _state = LexState.Initial;
            string text = Encoding.ASCII.GetString([.. _buf]);
            return isFloat ? new Token(Tok.NumericFloat) { Float = Atof(text) } : new Token(Tok.NumericInt) { Int = Atoi(text) };
        }

        _state = LexState.Number;
        return null;
    }

    private Token? ParseId()
    {
        _state = LexState.Initial;
        while (_pos < _inSize)
        {
            byte c = _in[_pos++];
            Class cls = IdClass(c);
            if (cls == Class.IdStart)
            {
                _buf.Add(c);
                continue;
            }

            if (cls == Class.Operator)
            {
                // A backslash: "\u" continues the identifier (the 'u' dropped), anything else ends it.
                if (_pos < _inSize && _in[_pos++] == (byte)'u')
                {
                    _buf.Add(c);
                    continue;
                }

                if (_pos == _inSize)
                {
                    _pos++;
                }
            }

            _state = LexState.Initial;
            _pos--;
            string name = Encoding.Latin1.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_buf));
            if (s_keywordBytes.TryGetValue(name, out byte[]? keyword))
            {
                Tok type = name switch { "var" => Tok.Var, "function" => Tok.Function, _ => Tok.Keyword };
                return new Token(type) { Text = keyword };
            }

            return new Token(Tok.Identifier) { Name = name };
        }

        _state = LexState.Identifier;
        return null;
    }

    private Token ParseOperator()
    {
        ReadOnlySpan<byte> rest = _in.AsSpan(_pos, Math.Min(5, _inSize - _pos));
        foreach (byte[] op in s_operators)
        {
            if (rest.StartsWith(op))
            {
                _pos += op.Length;
                return new Token(op is [(byte)'+'] ? Tok.Plus : Tok.Operator) { Text = op };
            }
        }

        // Not reached: every operator character is an operator of its own.
        _pos++;
        return new Token(Tok.Operator) { Text = [] };
    }

    private enum Class
    {
        Nop,
        Whitespace,
        Slash,
        Operator,
        DQuote,
        SQuote,
        Digit,
        IdStart,
        Special,
    }

    private static Class CharClass(byte c) => c switch
    {
        9 or 10 or 11 or 13 or 32 => Class.Whitespace,
        (byte)'/' => Class.Slash,
        (byte)'!' or (byte)'%' or (byte)'&' or (byte)'*' or (byte)'+' or (byte)'-' or (byte)':' or (byte)'<' or (byte)'='
            or (byte)'>' or (byte)'?' or (byte)'^' or (byte)'|' or (byte)'~' => Class.Operator,
        (byte)'"' => Class.DQuote,
        (byte)'\'' => Class.SQuote,
        >= (byte)'0' and <= (byte)'9' => Class.Digit,
        (byte)'$' or (byte)'_' or (byte)'\\' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z' => Class.IdStart,
        (byte)'[' or (byte)']' or (byte)',' or (byte)'{' or (byte)'}' or (byte)'(' or (byte)')' or (byte)'.' or (byte)';' => Class.Special,
        _ => Class.Nop,
    };

    private static Class IdClass(byte c) => c switch
    {
        (byte)'$' or (byte)'_' or >= (byte)'0' and <= (byte)'9' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z' => Class.IdStart,
        (byte)'\\' => Class.Operator,
        _ => Class.Nop,
    };

    private static bool IsDigit(byte c) => c is >= (byte)'0' and <= (byte)'9';

    private static bool IsAlnum(byte c) => IsDigit(c) || c is >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z';

    private static bool IsXDigit(byte c) => HexValue(c) >= 0;

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>glibc atoi: (int) strtol, which saturates at LONG_MAX.</summary>
    private static long Atoi(string digits)
    {
        if (digits.Length <= 18)
        {
            long small = 0;
            foreach (char ch in digits)
            {
                small = (small * 10) + (ch - '0');
            }

            return unchecked((int)small);
        }

        BigInteger v = digits.Length == 0 ? BigInteger.Zero : BigInteger.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        long l = v > long.MaxValue ? long.MaxValue : (long)v;
        return unchecked((int)l);
    }

    /// <summary>atof over digits, one '.', and an exponent: the longest valid prefix.</summary>
    private static double Atof(string s)
    {
        int i = 0;
        while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
        {
            i++;
        }

        int mantissa = i;
        if (i < s.Length && (s[i] == 'e' || s[i] == 'E'))
        {
            int j = i + 1;
            if (j < s.Length && (s[j] == '+' || s[j] == '-'))
            {
                j++;
            }

            int digits = j;
            while (j < s.Length && char.IsAsciiDigit(s[j]))
            {
                j++;
            }

            if (j > digits)
            {
                mantissa = j;
            }
        }

        string prefix = s[..mantissa];
        if (prefix.EndsWith('.'))
        {
            prefix += "0";
        }

        return double.Parse(prefix, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    /// <summary>C's printf "%g": 6 significant digits, trailing zeros dropped, exponent form below 1e-4 and from 1e6.</summary>
    internal static string FormatG(double d)
    {
        if (double.IsPositiveInfinity(d))
        {
            return "inf";
        }

        if (d == 0)
        {
            return "0";
        }

        string e = d.ToString("E5", CultureInfo.InvariantCulture);
        int x = int.Parse(e[(e.IndexOf('E', StringComparison.Ordinal) + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        if (x < -4 || x >= 6)
        {
            string m = e[..e.IndexOf('E', StringComparison.Ordinal)].TrimEnd('0').TrimEnd('.');
            return m + "e" + (x < 0 ? "-" : "+") + Math.Abs(x).ToString("D2", CultureInfo.InvariantCulture);
        }

        string f = d.ToString("F" + (5 - x).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return f.Contains('.', StringComparison.Ordinal) ? f.TrimEnd('0').TrimEnd('.') : f;
    }

    private sealed class Scope(Scope? parent)
    {
        public Scope? Parent { get; } = parent;

        public Dictionary<string, long> Ids { get; } = new(StringComparer.Ordinal);

        public Fsm Fsm { get; set; }

        public Tok LastToken { get; set; }

        public uint Brackets { get; set; }

        public uint Blocks { get; set; }
    }

    private sealed record Token(Tok Type)
    {
        /// <summary>An identifier's name (case kept).</summary>
        public string? Name { get; init; }

        /// <summary>The bytes written for a string, keyword, operator or punctuation token.</summary>
        public byte[]? Text { get; init; }

        /// <summary>True for tokens carrying an owned string (string literals, member names): eval takes only those.</summary>
        public bool IsString { get; init; }

        public long Int { get; init; }

        public double Float { get; init; }

        public Scope? Scope { get; init; }

        public bool IsEnd { get; init; }
    }

    /// <summary>cli_js_output's 64 KiB buffer: lower case, white space as spaces; its position decides the closing tag.</summary>
    private sealed class OutBuffer(List<byte> file)
    {
        private const int Size = 65536;
        private readonly List<byte> _file = file;
        private int _pos;

        public void PutC(byte c)
        {
            if (_pos >= Size)
            {
                _pos = 0;
            }

            _file.Add(c);
            _pos++;
        }

        public void PutS(ReadOnlySpan<byte> s)
        {
            foreach (byte b in s)
            {
                _file.Add(IsSpace(b) ? (byte)' ' : b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b + 32) : b);
                if (++_pos == Size)
                {
                    _pos = 0;
                }
            }
        }

        /// <summary>A name or number, one byte per character.</summary>
        public void PutS(string s)
        {
            foreach (char ch in s)
            {
                byte b = (byte)ch;
                _file.Add(IsSpace(b) ? (byte)' ' : b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b + 32) : b);
                if (++_pos == Size)
                {
                    _pos = 0;
                }
            }
        }

        public bool EndsWithScriptClose()
        {
            if (_pos < 9)
            {
                return false;
            }

            ReadOnlySpan<byte> tail = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_file)[^9..];
            return tail.SequenceEqual("</script>"u8);
        }

        private static bool IsSpace(byte b) => b is 9 or 10 or 11 or 12 or 13 or 32;
    }
}
