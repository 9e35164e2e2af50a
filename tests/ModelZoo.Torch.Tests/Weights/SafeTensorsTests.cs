using System.Buffers.Binary;
using System.Text;
using ModelZoo.Torch.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Weights;

public class SafeTensorsTests : IDisposable
{
    readonly TempFolder _tmp = new();
    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void Load_WidensF16Fixture_ToFloat32_AndKeepsCountersInt64()
    {
        var sd = SafeTensors.Load(TestFixtures.PathOf("resnet18_seed7.safetensors"));
        try
        {
            sd.Count.ShouldBe(122);
            sd["conv1.weight"].dtype.ShouldBe(ScalarType.Float32);
            sd["conv1.weight"].shape.ShouldBe([64L, 3, 7, 7]);
            sd["fc.weight"].shape.ShouldBe([10L, 512]);
            sd["bn1.num_batches_tracked"].dtype.ShouldBe(ScalarType.Int64);
            sd.Values.ShouldAllBe(t => t.device_type == DeviceType.CPU && t.is_contiguous());
            sd.Keys.First().ShouldBe("conv1.weight"); // header order is kept
        }
        finally { StateDicts.Dispose(sd.Values); }
    }

    [Fact]
    public void ReadMetadata_ReturnsTheHeaderMetadata_WithoutLoadingTensors()
    {
        var meta = SafeTensors.ReadMetadata(TestFixtures.PathOf("resnet18_seed7.safetensors"));
        meta["format"].ShouldBe("pt");
        meta["source"].ShouldContain("resnet18");
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    public void RoundTrip_GivesTheValuesRoundedToTheStoredType(ScalarType stored)
    {
        using var scope = NewDisposeScope();
        var original = new Dictionary<string, Tensor>
        {
            ["w"] = randn(4, 3, 2), ["b"] = randn(7), ["scalar"] = tensor(1.25f), ["empty"] = zeros(0, 5),
            ["steps"] = tensor(new long[] { 3, 1_000_000_000_000 }), ["mask"] = tensor(new[] { true, false }),
        };
        var path = _tmp.PathOf($"rt-{stored}.safetensors");
        SafeTensors.Save(path, original, stored, new Dictionary<string, string> { ["note"] = "round trip" });

        var loaded = SafeTensors.Load(path);
        loaded.Keys.ShouldBe(original.Keys);
        foreach (var (k, t) in original)
        {
            var expected = t.dtype == ScalarType.Float32 ? t.to_type(stored).to_type(ScalarType.Float32) : t;
            loaded[k].shape.ShouldBe(t.shape, k);
            loaded[k].dtype.ShouldBe(expected.dtype, k);
            StateDicts.Same(loaded[k], expected).ShouldBeTrue(k);
        }
        SafeTensors.ReadHeader(path).Single(i => i.Name == "w").Dtype.ShouldBe(stored switch
        {
            ScalarType.Float16 => "F16", ScalarType.BFloat16 => "BF16", _ => "F32",
        });
        SafeTensors.ReadHeader(path).Single(i => i.Name == "steps").Dtype.ShouldBe("I64");
        SafeTensors.ReadMetadata(path)["note"].ShouldBe("round trip");
        StateDicts.Dispose(loaded.Values);
    }

    [Fact]
    public void Save_AlignsTheDataTo8Bytes_AsTheReferenceWriterDoes()
    {
        using var scope = NewDisposeScope();
        var path = _tmp.PathOf("aligned.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["x"] = ones(3) });
        var bytes = File.ReadAllBytes(path);
        var n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        ((8 + (long)n) % 8).ShouldBe(0);
        bytes.Length.ShouldBe(8 + (int)n + 12);
    }

    [Fact]
    public void Save_RejectsAnIntegerStorageType()
    {
        using var scope = NewDisposeScope();
        Should.Throw<ArgumentException>(() => SafeTensors.Save(_tmp.PathOf("x.safetensors"),
            new Dictionary<string, Tensor> { ["x"] = ones(2) }, ScalarType.Int32));
    }

    [Fact]
    public void Load_RejectsATruncatedFixture_NamingTheFile()
    {
        var src = File.ReadAllBytes(TestFixtures.PathOf("resnet18_seed7.safetensors"));
        var path = _tmp.PathOf("cut.safetensors");
        File.WriteAllBytes(path, src[..(src.Length / 2)]);
        var e = Should.Throw<WeightsFormatException>(() => SafeTensors.Load(path));
        e.Message.ShouldStartWith("cut.safetensors:");
        e.Message.ShouldContain("truncated");
    }

    // A valid two-tensor file is {"a": F32 [2] at [0,8], "b": F32 [1] at [8,12]} + 12 bytes; each case breaks one thing.
    public static TheoryData<string, string, int, string> CorruptHeaders() => new()
    {
        { "not json", "{\"a\": ", 12, "not valid JSON" },
        { "array root", "[1, 2]", 12, "not a JSON object" },
        { "unknown dtype", """{"a":{"dtype":"F31","shape":[3],"data_offsets":[0,12]}}""", 12, "unknown dtype 'F31'" },
        { "unsupported dtype", """{"a":{"dtype":"U16","shape":[6],"data_offsets":[0,12]}}""", 12, "not support" },
        { "missing field", """{"a":{"dtype":"F32","shape":[3]}}""", 12, "needs dtype, shape and data_offsets" },
        { "extra field", """{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12],"x":1}}""", 12, "unexpected, repeated or mistyped field 'x'" },
        { "negative dim", """{"a":{"dtype":"F32","shape":[-3],"data_offsets":[0,12]}}""", 12, "not a non-negative integer" },
        { "fractional dim", """{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,12]}}""", 12, "not a non-negative integer" },
        { "offsets past end", """{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}""", 8, "run past the end" },
        { "reversed offsets", """{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}""", 12, "reversed" },
        { "size mismatch", """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,12]}}""", 12, "needs 8" },
        { "overlap", """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12, "overlap" },
        { "gap", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", 12, "belong to no tensor" },
        { "trailing bytes", """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 12, "after the last tensor" },
        { "duplicate key", """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12, "twice" },
        { "metadata not strings", """{"__metadata__":{"n":1},"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}""", 12, "not a string" },
        { "numel overflow", """{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,12]}}""", 12, "too large" },
    };

    [Theory]
    [MemberData(nameof(CorruptHeaders))]
    public void Load_RejectsCorruptHeaders_WithTheProblemNamed(string name, string header, int dataBytes, string expected)
    {
        var path = _tmp.PathOf(name.Replace(' ', '_') + ".safetensors");
        var h = Encoding.UTF8.GetBytes(header);
        WriteRaw(path, (ulong)h.Length, h, new byte[dataBytes]);
        var e = Should.Throw<WeightsFormatException>(() => SafeTensors.Load(path));
        e.Message.ShouldContain(expected);
        e.Message.ShouldContain(Path.GetFileName(path));
    }

    [Theory]
    [InlineData(1UL << 40, "exceeds")]           // huge: never allocated
    [InlineData(90_000UL, "past the end")]        // plausible size, but the file is shorter
    [InlineData(0UL, "too short")]
    public void Load_RejectsImpossibleHeaderLengths_BeforeAllocating(ulong declared, string expected)
    {
        var path = _tmp.PathOf($"len-{declared}.safetensors");
        WriteRaw(path, declared, "{}"u8.ToArray(), []);
        Should.Throw<WeightsFormatException>(() => SafeTensors.Load(path)).Message.ShouldContain(expected);
    }

    [Fact]
    public void Load_RejectsFilesShorterThanTheLengthPrefix()
    {
        var path = _tmp.PathOf("tiny.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Should.Throw<WeightsFormatException>(() => SafeTensors.Load(path)).Message.ShouldContain("too short");
    }

    static void WriteRaw(string path, ulong declaredHeaderLength, byte[] header, byte[] data)
    {
        var len = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, declaredHeaderLength);
        File.WriteAllBytes(path, [.. len, .. header, .. data]);
    }
}
