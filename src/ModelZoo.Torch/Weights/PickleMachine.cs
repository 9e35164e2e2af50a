// The subset of Python's pickle virtual machine that torch.save(state_dict) uses (protocol 2, plus the protocol 4
// framing and short-string opcodes that pickle_protocol=4 adds). Opcode meanings follow CPython's Lib/pickletools.py.
//
// Safety: unpickling can call any importable function, which is how malicious checkpoints run code. This machine
// resolves GLOBAL only against a fixed allow-list and builds plain values; anything else is rejected before use, so
// reading a checkpoint can never execute code.
using System.Buffers.Binary;
using System.Text;

namespace ModelZoo.Torch.Weights;

/// <summary>A Python global the allow-list admitted, e.g. <c>torch._utils._rebuild_tensor_v2</c>.</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    public override string ToString() => $"{Module}.{Name}";
}

/// <summary>A Python tuple (lists and tuples are distinct because REDUCE takes its arguments as a tuple).</summary>
internal sealed record PickleTuple(object?[] Items);

/// <summary>A Python dict or OrderedDict with insertion order kept (state_dict order is the model's order).</summary>
internal sealed class PickleDict
{
    readonly Dictionary<object, int> _index = [];
    public List<KeyValuePair<object, object?>> Items { get; } = [];

    public void Set(object key, object? value)
    {
        if (_index.TryGetValue(key, out var i)) Items[i] = new(key, value);
        else
        {
            _index[key] = Items.Count;
            Items.Add(new(key, value));
        }
    }
}

/// <summary>The allow-list and the meaning of each allowed call, supplied by the format reader.</summary>
internal interface IPickleResolver
{
    /// <summary>True when <paramref name="module"/>.<paramref name="name"/> may be referenced.</summary>
    bool IsAllowed(string module, string name);
    /// <summary>Applies an allowed callable (REDUCE) to its arguments.</summary>
    object? Call(PickleGlobal callable, object?[] args);
    /// <summary>Resolves a persistent id (BINPERSID), e.g. a storage reference.</summary>
    object? PersistentLoad(object? pid);
}

internal sealed class PickleMachine
{
    const int MaxStack = 1 << 20;
    const int MaxMemo = 1 << 24;

    readonly byte[] _data;
    readonly IPickleResolver _resolver;
    readonly string _where;
    int _pos;
    readonly List<object?> _stack = [];
    readonly Stack<int> _marks = new();
    readonly Dictionary<long, object?> _memo = [];

    PickleMachine(byte[] data, IPickleResolver resolver, string where)
    {
        _data = data;
        _resolver = resolver;
        _where = where;
    }

    /// <summary>Runs the pickle to STOP and returns its value. Throws <see cref="PickleException"/> on anything else.</summary>
    public static object? Run(byte[] data, IPickleResolver resolver, string where) => new PickleMachine(data, resolver, where).Execute();

    object? Execute()
    {
        while (true)
        {
            int opAt = _pos;
            byte op = U8();
            switch (op)
            {
                case 0x80: // PROTO
                    var proto = U8();
                    if (proto > 5) throw Fail(opAt, $"pickle protocol {proto} is not supported");
                    break;
                case 0x95: // FRAME: a length hint only; the data is already in memory
                    Take(8);
                    break;
                case (byte)'.': // STOP
                    if (_stack.Count != 1 || _marks.Count != 0) throw Fail(opAt, "STOP with an unbalanced stack");
                    return _stack[0];

                case (byte)'c': // GLOBAL module\nname\n
                    {
                        var module = Line(opAt);
                        var name = Line(opAt);
                        Push(Global(module, name, opAt));
                        break;
                    }
                case 0x93: // STACK_GLOBAL
                    {
                        var name = Pop(opAt) as string ?? throw Fail(opAt, "STACK_GLOBAL name is not a string");
                        var module = Pop(opAt) as string ?? throw Fail(opAt, "STACK_GLOBAL module is not a string");
                        Push(Global(module, name, opAt));
                        break;
                    }

                case (byte)'q': Memo(U8(), opAt); break;                   // BINPUT
                case (byte)'r': Memo(U32(), opAt); break;                  // LONG_BINPUT
                case 0x94: Memo(_memo.Count, opAt); break;                 // MEMOIZE
                case (byte)'h': Push(Recall(U8(), opAt)); break;           // BINGET
                case (byte)'j': Push(Recall(U32(), opAt)); break;          // LONG_BINGET

                case (byte)'(': // MARK
                    if (_marks.Count >= MaxStack) throw Fail(opAt, "too many marks");
                    _marks.Push(_stack.Count);
                    break;
                case (byte)'0': Pop(opAt); break;                          // POP
                case (byte)'1': PopMark(opAt); break;                      // POP_MARK
                case (byte)'2': Push(Peek(opAt)); break;                   // DUP

                case (byte)'}': Push(new PickleDict()); break;             // EMPTY_DICT
                case (byte)']': Push(new List<object?>()); break;          // EMPTY_LIST
                case (byte)')': Push(new PickleTuple([])); break;          // EMPTY_TUPLE
                case (byte)'t': Push(new PickleTuple(PopMark(opAt))); break; // TUPLE
                case 0x85: Push(new PickleTuple([Pop(opAt)])); break;      // TUPLE1
                case 0x86: { var b = Pop(opAt); var a = Pop(opAt); Push(new PickleTuple([a, b])); break; } // TUPLE2
                case 0x87: { var c = Pop(opAt); var b = Pop(opAt); var a = Pop(opAt); Push(new PickleTuple([a, b, c])); break; } // TUPLE3
                case (byte)'l': Push(PopMark(opAt).ToList()); break;       // LIST
                case (byte)'d': // DICT
                    {
                        var d = new PickleDict();
                        SetItems(d, PopMark(opAt), opAt);
                        Push(d);
                        break;
                    }
                case (byte)'s': // SETITEM
                    {
                        var v = Pop(opAt);
                        var k = Pop(opAt);
                        SetItems(Peek(opAt), [k, v], opAt);
                        break;
                    }
                case (byte)'u': // SETITEMS
                    {
                        var items = PopMark(opAt);
                        SetItems(Peek(opAt), items, opAt);
                        break;
                    }
                case (byte)'a': // APPEND
                    {
                        var v = Pop(opAt);
                        AsList(Peek(opAt), opAt).Add(v);
                        break;
                    }
                case (byte)'e': // APPENDS
                    {
                        var items = PopMark(opAt);
                        AsList(Peek(opAt), opAt).AddRange(items);
                        break;
                    }

                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break; // BININT
                case (byte)'K': Push((long)U8()); break;                                             // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break; // BININT2
                case 0x8A: Push(Long(U8(), opAt)); break;                                            // LONG1
                case 0x8B: Push(Long(U32(), opAt)); break;                                           // LONG4
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break;          // BINFLOAT
                case 0x88: Push(true); break;                                                        // NEWTRUE
                case 0x89: Push(false); break;                                                       // NEWFALSE
                case (byte)'N': Push(null); break;                                                   // NONE

                case (byte)'X': Push(Utf8(U32(), opAt)); break;            // BINUNICODE
                case 0x8C: Push(Utf8(U8(), opAt)); break;                  // SHORT_BINUNICODE
                case 0x8D: Push(Utf8(Length64(opAt), opAt)); break;        // BINUNICODE8
                case (byte)'B': Push(Take(Length(U32(), opAt)).ToArray()); break; // BINBYTES
                case (byte)'C': Push(Take(U8()).ToArray()); break;         // SHORT_BINBYTES

                case (byte)'Q': Push(_resolver.PersistentLoad(Pop(opAt))); break; // BINPERSID
                case (byte)'R': // REDUCE
                    {
                        var args = Pop(opAt) as PickleTuple ?? throw Fail(opAt, "REDUCE arguments are not a tuple");
                        var callable = Pop(opAt) as PickleGlobal ?? throw Fail(opAt, "REDUCE target is not an allowed global");
                        Push(Call(callable, args.Items, opAt));
                        break;
                    }
                case (byte)'b': // BUILD: set state on an object. Only OrderedDict's attribute dict (state_dict._metadata) is expected.
                    {
                        var state = Pop(opAt);
                        var target = Peek(opAt);
                        if (target is not PickleDict || state is not (PickleDict or null))
                            throw Fail(opAt, $"BUILD on {Describe(target)} is not supported");
                        break;
                    }

                default:
                    throw Fail(opAt, $"opcode 0x{op:x2} ('{(op is >= 32 and < 127 ? (char)op : '?')}') is not supported");
            }
        }
    }

    object Global(string module, string name, int at) =>
        _resolver.IsAllowed(module, name) ? new PickleGlobal(module, name)
        : throw Fail(at, $"refers to '{module}.{name}', which is not allowed in a weights file (only tensors, storages and OrderedDict are); refusing to load it");

    object? Call(PickleGlobal callable, object?[] args, int at)
    {
        try { return _resolver.Call(callable, args); }
        catch (PickleException) { throw; }
        catch (Exception e) when (e is InvalidCastException or ArgumentException or IndexOutOfRangeException or InvalidOperationException)
        {
            throw Fail(at, $"{callable}: {e.Message}");
        }
    }

    void SetItems(object? target, object?[] items, int at)
    {
        if (target is not PickleDict d) throw Fail(at, $"SETITEM(S) on {Describe(target)}");
        if (items.Length % 2 != 0) throw Fail(at, "SETITEMS with an odd number of items");
        for (int i = 0; i < items.Length; i += 2)
            d.Set(items[i] ?? throw Fail(at, "dict key is None"), items[i + 1]);
    }

    List<object?> AsList(object? target, int at) => target as List<object?> ?? throw Fail(at, $"APPEND(S) on {Describe(target)}");

    void Memo(long index, int at)
    {
        if (_memo.Count >= MaxMemo && !_memo.ContainsKey(index)) throw Fail(at, "memo too large");
        _memo[index] = Peek(at);
    }

    object? Recall(long index, int at) => _memo.TryGetValue(index, out var v) ? v : throw Fail(at, $"memo entry {index} was never stored");

    void Push(object? v)
    {
        if (_stack.Count >= MaxStack) throw Fail(_pos, "stack too deep");
        _stack.Add(v);
    }

    object? Pop(int at)
    {
        if (_stack.Count == 0 || (_marks.Count > 0 && _stack.Count == _marks.Peek())) throw Fail(at, "stack underflow");
        var v = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return v;
    }

    object? Peek(int at)
    {
        if (_stack.Count == 0 || (_marks.Count > 0 && _stack.Count == _marks.Peek())) throw Fail(at, "stack underflow");
        return _stack[^1];
    }

    object?[] PopMark(int at)
    {
        if (_marks.Count == 0) throw Fail(at, "no MARK to pop to");
        int m = _marks.Pop();
        var items = _stack.GetRange(m, _stack.Count - m).ToArray();
        _stack.RemoveRange(m, _stack.Count - m);
        return items;
    }

    byte U8() => Take(1)[0];
    long U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    long Length64(int at)
    {
        var n = BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
        return n > int.MaxValue ? throw Fail(at, "string too long") : (long)n;
    }

    int Length(long n, int at) => n > _data.Length - _pos ? throw Fail(at, "length runs past the end of the pickle") : (int)n;

    ReadOnlySpan<byte> Take(long n)
    {
        if (n > _data.Length - _pos) throw Fail(_pos, "pickle ends early (truncated)");
        var s = _data.AsSpan(_pos, (int)n);
        _pos += (int)n;
        return s;
    }

    string Utf8(long n, int at)
    {
        var bytes = Take(Length(n, at));
        try { return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes); }
        catch (DecoderFallbackException) { throw Fail(at, "string is not valid UTF-8"); }
    }

    string Line(int at)
    {
        int end = Array.IndexOf(_data, (byte)'\n', _pos);
        if (end < 0 || end - _pos > 1024) throw Fail(at, "GLOBAL name is not terminated");
        var s = Encoding.ASCII.GetString(_data, _pos, end - _pos);
        _pos = end + 1;
        return s;
    }

    /// <summary>LONG1/LONG4: little-endian two's complement; storage sizes and offsets fit in 64 bits.</summary>
    object Long(long n, int at)
    {
        var bytes = Take(Length(n, at));
        if (bytes.Length == 0) return 0L;
        if (bytes.Length > 8) throw Fail(at, "integer wider than 64 bits");
        Span<byte> buf = stackalloc byte[8];
        buf.Fill((bytes[^1] & 0x80) != 0 ? (byte)0xFF : (byte)0);
        bytes.CopyTo(buf);
        return BinaryPrimitives.ReadInt64LittleEndian(buf);
    }

    static string Describe(object? v) => v switch
    {
        null => "None",
        PickleGlobal g => g.ToString(),
        _ => v.GetType().Name,
    };

    PickleException Fail(int at, string problem) => new($"{_where}: {problem} (at byte {at})");
}

internal sealed class PickleException(string message) : Exception(message);
