using System.CommandLine;
using System.Text.Json;
using ModelZoo.Cli;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Pretraining;
using ModelZoo.Torch.Weights;
using static TorchSharp.torch;

namespace ModelZoo.Cli.Tests.Pretraining;

/// <summary>
/// <c>modelzoo pretrain glyphs</c> on a real but small glyphs dataset: the pipeline is the real one (SkiaSharp
/// rendering, the family split, the dataset store, the trainer), only the fonts are the DejaVu faces installed on
/// this machine (Debian fonts-dejavu-core) instead of the seven fetched packages, and training is one epoch on a slice.
/// </summary>
public sealed class PretrainCommandsTests : IDisposable
{
    const string DejaVuDir = "/usr/share/fonts/truetype/dejavu";
    readonly string _dir = Directory.CreateTempSubdirectory("mz-pretrain-").FullName;
    string DataDir => Path.Combine(_dir, "data");
    string ZooDir => Path.Combine(_dir, "zoo");

    /// <summary>Three designs (Sans, Serif, Sans Mono), so the split has one family each for train, validation, test.</summary>
    LoadedDataset WriteGlyphs()
    {
        var files = new[] { "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf" };
        var fonts = files.Select(f => Path.Combine(DejaVuDir, f))
            .Select(p => File.Exists(p) ? new FontFile("fonts-dejavu-core", p, File.ReadAllBytes(p)) : throw new FileNotFoundException($"{p} is missing: install the Debian package fonts-dejavu-core"))
            .ToList();
        var store = new DatasetStore(new ZooPaths(new StorageOptions { DataDir = DataDir }, _dir));
        GlyphsDataset.Build(fonts, [new GlyphPackage("fonts-dejavu-core", "installed", "(the faces installed on the test machine)", new string('0', 64), "bitstream-vera")],
            store, null, CancellationToken.None);
        return store.Load(GlyphsDataset.Id);
    }

    (int Exit, string Output) Pretrain(params string[] args)
    {
        var output = new StringWriter();
        var exit = Program.Run(["pretrain", "glyphs", "--data-dir", DataDir, .. args], new InvocationConfiguration { Output = output, Error = output });
        return (exit, output.ToString());
    }

    [Fact]
    public void Pretrain_OnATinySlice_WritesAValidBundledEntry_WhoseWeightsLoadStrictly_AndReproduceItsMetric()
    {
        var data = WriteGlyphs();
        var entry = Path.Combine(ZooDir, "vgg11_bn.test_house");
        var (exit, output) = Pretrain("--arch", "vgg11_bn", "--head-pool", "1", "--head-hidden", "64", "--epochs", "1", "--batch", "32",
            "--train-limit", "48", "--threads", "2", "--out", entry);
        exit.ShouldBe(ExitCodes.Ok, output);

        Directory.GetFiles(entry).Select(Path.GetFileName).Order(StringComparer.Ordinal).ShouldBe(["README.md", "model.json", "model.safetensors"]);
        Directory.GetDirectories(ZooDir).ShouldBe([entry], "no temporary folder is left behind");
        var m = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(Path.Combine(entry, "model.json")), ModelManifest.Json)!;
        ManifestValidator.Validate(m, "vgg11_bn.test_house").ShouldBeEmpty();
        m.Head.PoolSize.ShouldBe(1);
        m.Head.Hidden.ShouldBe(64);
        m.Head.NumClasses.ShouldBe(62);
        m.Weights!.Bundled.ShouldBeTrue();
        m.Weights.Sha256.ShouldBe(Sha256.OfFile(Path.Combine(entry, "model.safetensors")));
        m.Weights.Size.ShouldBe(new FileInfo(Path.Combine(entry, "model.safetensors")).Length);
        m.Params.ShouldBe(ArchitectureRegistry.Default.CountParameters("vgg11_bn", ArchitectureOptions.Of(m)));
        m.Training!.Command.ShouldContain("pretrain glyphs --arch vgg11_bn --epochs 1 --batch 32");
        // TorchRuntime is initialised once per process, so in this test process the thread count is whichever command
        // initialised it first (another test's pretrain mlm --threads 1, depending on order); the recipe must record
        // the count the training really used.
        m.Training.Command.ShouldContain($"--head-pool 1 --head-hidden 64 --train-limit 48 --threads {ModelZoo.Torch.Native.TorchRuntime.Threads} --out zoo/vgg11_bn.test_house");
        m.Training.TrainExamples.ShouldBe(48);
        m.Training.Threads.ShouldBe(ModelZoo.Torch.Native.TorchRuntime.Threads);
        m.Training.DatasetProvenance.ShouldContain("fonts-dejavu-core");
        SafeTensors.ReadHeader(Path.Combine(entry, "model.safetensors")).Where(t => t.Name.EndsWith(".weight", StringComparison.Ordinal))
            .ShouldAllBe(t => t.Dtype == "F16");

        // The shipped file, loaded strictly into the shape the manifest describes, scores exactly the reported top-1.
        var top1 = HousePretrainer.EvaluateFile(ArchitectureRegistry.Default, m, Path.Combine(entry, "model.safetensors"), data, CancellationToken.None);
        Math.Round(top1 * 100, 2).ShouldBe(m.Metrics.Single().Value!.Value);
        File.ReadAllText(Path.Combine(entry, "README.md")).ShouldContain(m.Weights.Sha256!);
    }

    [Fact]
    public void SavedWeights_GiveTheSameLogits_AsTheTrainedModel()
    {
        var data = WriteGlyphs();
        TorchSharp.torch.set_num_threads(2);
        var spec = new PretrainSpec { Architecture = "resnet18", Epochs = 1, BatchSize = 32, TrainLimit = 64, InputSize = 32 };
        var file = Path.Combine(_dir, "w.safetensors");
        using var probe = rand(4, 3, 32, 32, generator: new Generator(5));
        Tensor? expected = null;
        var outcome = HousePretrainer.Run(ArchitectureRegistry.Default, data, spec, file, new NullProgress(), CancellationToken.None,
            observe: model => { using (no_grad()) expected = model.call(probe).detach().clone(); });

        using var loaded = HousePretrainer.LoadStrict(ArchitectureRegistry.Default, outcome.Draft, file);
        loaded.eval();
        using var _ = no_grad();
        using var actual = loaded.call(probe);
        expected.ShouldNotBeNull();
        (actual - expected!).abs().max().item<float>().ShouldBeLessThanOrEqualTo(1e-5f);
        expected!.Dispose();
    }

    [Theory]
    [InlineData("resnet18.glyphs_house", new[] { "--arch", "resnet18", "--head-hidden", "512" }, "apply to VGG only")]
    [InlineData("vgg11_bn.glyphs_house", new[] { "--arch", "resnet18" }, "must be named resnet18.<tag>")]
    [InlineData("bert.glyphs_house", new[] { "--arch", "bert" }, "not an image architecture")]
    [InlineData("resnet18.glyphs_house", new[] { "--arch", "resnet18", "--epochs", "0" }, "--epochs must be at least 1")]
    public void Pretrain_RefusesBadArguments_WithAReason_AndWritesNothing(string folder, string[] args, string reason)
    {
        var (exit, output) = Pretrain([.. args, "--out", Path.Combine(ZooDir, folder)]);
        exit.ShouldBe(ExitCodes.BadInput);
        output.ShouldContain(reason);
        Directory.Exists(ZooDir).ShouldBeFalse();
    }

    [Fact]
    public void Pretrain_RefusesToOverwriteAnEntry_WithoutForce()
    {
        var entry = Directory.CreateDirectory(Path.Combine(ZooDir, "resnet18.glyphs_house")).FullName;
        File.WriteAllText(Path.Combine(entry, "model.json"), "{}");
        var (exit, output) = Pretrain("--arch", "resnet18", "--out", entry);
        exit.ShouldBe(ExitCodes.BadInput);
        output.ShouldContain("pass --force");
        File.ReadAllText(Path.Combine(entry, "model.json")).ShouldBe("{}");
    }

    sealed class NullProgress : IRunProgress
    {
        public void Status(StatusChange status) { }
        public void Step(StepProgress step) { }
        public void Epoch(EpochMetrics epoch) { }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
