using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Torch.Pipeline;
using ModelZoo.Torch.Tests.Weights.Onnx;
using ModelZoo.Torch.Weights.Onnx;
using static ModelZoo.Torch.Tests.Pipeline.PipelineFixtures;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Pipeline;

/// <summary>
/// The pixel steps a manifest can state beyond mean and std (channel order, pixel scale, a mean image), checked against
/// the graph that defines them for ML.NET's ResNet-18: ResNetPreprocess.onnx run by ONNX Runtime.
/// </summary>
public sealed class MeanImagePipelineTests
{
    const string EntryId = "resnet18_cntk.mlnet_in1k";
    static string EntryDir => Path.Combine(TestFixtures.RepoRoot, "zoo", EntryId);

    static ModelManifest Entry() =>
        JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(Path.Combine(EntryDir, "model.json")), ModelManifest.Json)!;

    static string MeanImagePath(ModelManifest m) => Path.Combine(EntryDir, m.Preprocessing.MeanImage!.File);

    static readonly DatasetInfo Info = new() { Id = "mean-image-test", Augmentation = AugmentationProfile.Photos };

    /// <summary>ResNetPreprocess.onnx on one [1, 3, 224, 224] RGB image on the 0-255 scale.</summary>
    static float[] MlNetPreprocess(float[] rgb)
    {
        using var session = new InferenceSession(OnnxTestFiles.MlNetResNetPreprocess);
        using var input = OrtValue.CreateTensorValueFromMemory(rgb, [1, 3, 224, 224]);
        using var options = new RunOptions();
        session.InputNames.ShouldBe(["OriginalInput"]);
        using var results = session.Run(options, session.InputNames, [input], session.OutputNames);
        results[0].GetTensorTypeAndShape().Shape.ShouldBe([1L, 3L, 224L, 224L]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    static float[] PipelineOutput(byte[] pixels, int channels, ModelManifest m, int runSize = 224)
    {
        using var pipeline = ImagePipeline.Create(InMemory(pixels, 1, channels, 224), Info, m.Preprocessing, runSize, CPU,
            new PipelineOptions { Workers = 1 }, meanImagePath: MeanImagePath(m));
        using var batch = pipeline.Batch([0], rng: null);
        return Values(batch.X);
    }

    [Fact]
    public void MlNetEntry_FeedsExactlyWhatMlNetsPreprocessingGraphComputes_OnA224RgbImage()
    {
        var pixels = Noise(1, 3, 224, seed: 12);
        var expected = MlNetPreprocess(pixels.Select(b => (float)b).ToArray());
        var actual = PipelineOutput(pixels, 3, Entry());
        actual.Length.ShouldBe(expected.Length);
        var maxDiff = actual.Zip(expected, (a, e) => Math.Abs(a - e)).Max();
        maxDiff.ShouldBe(0f, "bytes as floats, planes reversed, minus the same float32 mean image: the same IEEE subtraction");
    }

    [Fact]
    public void MlNetEntry_ExpandsAGreyImageToThreeChannels_BeforeTheMeanImage()
    {
        var grey = Noise(1, 1, 224, seed: 5);
        var rgb = Enumerable.Range(0, 3).SelectMany(_ => grey).Select(b => (float)b).ToArray();
        PipelineOutput(grey, 1, Entry()).ShouldBe(MlNetPreprocess(rgb));
    }

    [Fact]
    public void CommittedMeanImage_IsTheMeanImageOfMlNetsPreprocessingGraph_BitForBit()
    {
        var m = Entry();
        using var fromOnnx = OnnxModel.ReadInitializer(OnnxTestFiles.MlNetResNetPreprocess, "MeanImage");
        var committed = MeanImageFile.Load(MeanImagePath(m), m.Preprocessing.MeanImage!, 224, 224, ResizeInterpolation.Bicubic);
        committed.ShouldBe(Values(fromOnnx));
    }

    [Fact]
    public void AtAnotherRunSize_TheMeanImageIsResizedWithTheEntrysInterpolation()
    {
        var m = Entry();
        var spec = ImageTransformSpec.From(m.Preprocessing, 64, MeanImagePath(m));
        spec.MeanImage!.Length.ShouldBe(3 * 64 * 64);
        using var full = tensor(MeanImageFile.Load(MeanImagePath(m), m.Preprocessing.MeanImage!, 224, 224, ResizeInterpolation.Bicubic), [1, 3, 224, 224]);
        using var expected = nn.functional.interpolate(full, size: [64, 64], mode: InterpolationMode.Bicubic, align_corners: false, antialias: true);
        spec.MeanImage.ShouldBe(Values(expected));
        // Channel means survive the resize (B about 103, G 116, R 123 at 224 px; docs/weights.md).
        var b = spec.MeanImage.Take(64 * 64).Average();
        b.ShouldBeInRange(100, 106);
    }

    [Fact]
    public void Fingerprint_ChangesWithChannelOrderScaleAndMeanImage_AndNotForPerChannelEntries()
    {
        var m = Entry();
        string Fp(Preprocessing pre, string? meanImage = null)
        {
            using var p = ImagePipeline.Create(InMemory(Noise(1, 3, 32, 1), 1, 3, 32), Info, pre, 32, CPU, new PipelineOptions { Workers = 1 }, meanImagePath: meanImage);
            return p.Fingerprint;
        }
        var imageNet = Fp(ImageNet);
        imageNet.ShouldNotContain("order", customMessage: "per-channel entries keep the keys their caches were written under");
        var bgr = Fp(ImageNet with { ChannelOrder = ChannelOrder.Bgr });
        var scaled = Fp(ImageNet with { PixelScale = 255 });
        var mlnet = Fp(m.Preprocessing, MeanImagePath(m));
        new[] { imageNet, bgr, scaled, mlnet }.Distinct().Count().ShouldBe(4);
        mlnet.ShouldContain(m.Preprocessing.MeanImage!.Sha256);
    }

    [Fact]
    public void AugmentedBatches_ScaleBackTo0To255_BeforeTheMeanImage()
    {
        var m = Entry();
        using var pipeline = ImagePipeline.Create(InMemory(Noise(4, 3, 40, 3), 4, 3, 40), Info, m.Preprocessing, 32, CPU,
            new PipelineOptions { Workers = 1 }, meanImagePath: MeanImagePath(m));
        using var batch = pipeline.Batch([0, 1, 2, 3], new Random(1));
        var v = Values(batch.X);
        v.Min().ShouldBeGreaterThanOrEqualTo(-130f);
        v.Max().ShouldBeLessThanOrEqualTo(160f);
        v.Max().ShouldBeGreaterThan(50f, "noise on the 0-255 scale minus about 100-125 reaches well above 50");
    }

    [Fact]
    public void MeanImage_IsRefused_WhenTheFileIsNotTheManifests()
    {
        var m = Entry();
        using var dir = new TempDataset();
        var copy = Path.Combine(dir.Dir, "mean_image.safetensors");
        var bytes = File.ReadAllBytes(MeanImagePath(m));
        bytes[^1] ^= 1;
        File.WriteAllBytes(copy, bytes);
        var e = Should.Throw<InvalidOperationException>(() => ImageTransformSpec.From(m.Preprocessing, 224, copy));
        e.Message.ShouldContain("differs from the manifest's");
        Should.Throw<ArgumentException>(() => ImageTransformSpec.From(m.Preprocessing, 224)).Message.ShouldContain("mean_image.safetensors");
    }
}
