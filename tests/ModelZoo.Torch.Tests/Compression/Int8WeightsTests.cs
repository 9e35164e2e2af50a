using ModelZoo.Torch.Compression;
using ModelZoo.Torch.Weights;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Compression;

/// <summary>int8 weights: the error bound per channel, the file's keys, dtypes and header, and the loader.</summary>
public sealed class Int8WeightsTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("modelzoo-int8-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Channels of very different ranges, so one scale per tensor would fail the per-channel bound.</summary>
    static Tensor Weight(params long[] shape)
    {
        var g = new Generator(11);
        var w = randn(shape, generator: g);
        var ranges = pow(10.0, linspace(-3, 1, shape[0])).reshape([shape[0], .. Enumerable.Repeat(1L, shape.Length - 1)]);
        return w * ranges;
    }

    [Theory]
    [InlineData(new long[] { 16, 3, 3, 3 })]
    [InlineData(new long[] { 10, 64 })]
    public void Dequantised_IsWithinHalfAScale_OfEachChannel(long[] shape)
    {
        using var w = Weight(shape);
        var (q, scale) = Int8Weights.Quantise(w);
        using (q) using (scale)
        {
            q.dtype.ShouldBe(ScalarType.Int8);
            scale.shape.ShouldBe([shape[0]]);
            // In double, so what is checked is the quantisation's error, not the F32 product's rounding.
            using var back = q.to_type(ScalarType.Float64) * scale.to_type(ScalarType.Float64).reshape([shape[0], .. Enumerable.Repeat(1L, shape.Length - 1)]);
            using var err = (back - w.to_type(ScalarType.Float64)).abs().reshape(shape[0], -1).amax([1L]);
            var errors = err.data<double>().ToArray();
            var scales = scale.data<float>().ToArray();
            var max = w.abs().reshape(shape[0], -1).amax([1L]).data<float>().ToArray();
            for (int c = 0; c < shape[0]; c++)
            {
                scales[c].ShouldBe(max[c] / 127f, max[c] / 127f * 1e-6f, $"channel {c}: scale = max|w|/127");
                // Division and rounding in double: |x - round(x)| <= 1/2 up to double's own rounding (1e-12 of the scale).
                errors[c].ShouldBeLessThanOrEqualTo(scales[c] / 2.0 * (1 + 1e-12), $"channel {c}");
            }
            // The largest weight of each channel lands on ±127: the whole int8 range is used.
            using var qmax = q.abs().reshape(shape[0], -1).amax([1L]);
            qmax.to_type(ScalarType.Int64).data<long>().ToArray().ShouldAllBe(v => v == 127);
        }
    }

    [Fact]
    public void AnAllZeroChannel_StaysExactlyZero()
    {
        using var w = Weight(4, 300);
        w[2].zero_();
        var (q, scale) = Int8Weights.Quantise(w);
        using (q) using (scale)
        {
            scale[2].item<float>().ShouldBe(0f);
            using var back = Int8Weights.Dequantise(q, scale);
            back[2].abs().sum().item<float>().ShouldBe(0f);
            float.IsFinite(back.abs().max().item<float>()).ShouldBeTrue();
        }
    }

    [Fact]
    public void TheFile_HoldsI8WeightsWithF32Scales_KeepsTheRestF32_AndNamesTheScheme()
    {
        var source = Path.Combine(_dir, "run.safetensors");
        var tensors = new Dictionary<string, Tensor>
        {
            ["conv1.weight"] = Weight(16, 3, 3, 3),
            ["bn1.weight"] = ones(16), ["bn1.running_mean"] = zeros(16), ["bn1.num_batches_tracked"] = tensor(5L),
            ["fc.weight"] = Weight(10, 32), ["fc.bias"] = zeros(10),
            // 2x100 = 200 elements: under the 256 below which a weight stays F32.
            ["tiny.weight"] = Weight(2, 100),
        };
        SafeTensors.Save(source, tensors, metadata: new Dictionary<string, string> { ["modelzoo.architecture"] = "resnet18", ["format"] = "pt" });
        var target = Path.Combine(_dir, "run.int8.safetensors");
        Int8Weights.Save(source, target);

        var header = SafeTensors.ReadHeader(target).ToDictionary(h => h.Name);
        header["conv1.weight"].Dtype.ShouldBe("I8");
        header["conv1.weight.scale"].Dtype.ShouldBe("F32");
        header["conv1.weight.scale"].Shape.ShouldBe([16L]);
        header["fc.weight"].Dtype.ShouldBe("I8");
        header["fc.weight.scale"].Shape.ShouldBe([10L]);
        foreach (var kept in new[] { "bn1.weight", "bn1.running_mean", "fc.bias", "tiny.weight" })
        {
            header[kept].Dtype.ShouldBe("F32", kept);
            header.ShouldNotContainKey(kept + ".scale");
        }
        header["bn1.num_batches_tracked"].Dtype.ShouldBe("I64");
        header.Count.ShouldBe(tensors.Count + 2);

        var metadata = SafeTensors.ReadMetadata(target);
        metadata[Int8Weights.SchemeKey].ShouldBe("int8-symmetric-per-channel");
        metadata["modelzoo.quantization.zero_point"].ShouldBe("0");
        metadata["modelzoo.architecture"].ShouldBe("resnet18", "the run's own metadata is kept");
        metadata["modelzoo.quantization.keys"].ShouldBe("[\"conv1.weight\",\"fc.weight\"]");
        new FileInfo(target).Length.ShouldBeLessThan(new FileInfo(source).Length);

        var loaded = Int8Weights.Dequantize(target);
        try
        {
            loaded.Keys.Order().ShouldBe(tensors.Keys.Order());
            foreach (var (key, original) in tensors)
            {
                if (key.EndsWith("num_batches_tracked")) { loaded[key].item<long>().ShouldBe(5L); continue; }
                loaded[key].dtype.ShouldBe(ScalarType.Float32, key);
                loaded[key].shape.ShouldBe(original.shape, key);
                var bound = header.ContainsKey(key + ".scale") ? original.abs().max().item<float>() / 127f / 2f * 1.0001f : 0f;
                (loaded[key] - original).abs().max().item<float>().ShouldBeLessThanOrEqualTo(bound, key);
            }
        }
        finally { foreach (var t in loaded.Values.Concat(tensors.Values)) t.Dispose(); }
    }

    [Fact]
    public void Dequantize_RefusesAFileThatDoesNotNameTheScheme()
    {
        var plain = Path.Combine(_dir, "plain.safetensors");
        using (var w = Weight(4, 100)) SafeTensors.Save(plain, new Dictionary<string, Tensor> { ["fc.weight"] = w });
        Should.Throw<WeightsFormatException>(() => Int8Weights.Dequantize(plain)).Message.ShouldContain("modelzoo.quantization");
    }
}
