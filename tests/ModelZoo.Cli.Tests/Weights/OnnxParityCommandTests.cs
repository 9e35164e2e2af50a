using System.CommandLine;
using ModelZoo.Cli;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Tests;
using ModelZoo.Torch.Tests.Weights.Onnx;
using ModelZoo.Torch.Weights;
using ModelZoo.Torch.Weights.Onnx.Export;
using static TorchSharp.torch;

namespace ModelZoo.Cli.Tests.Weights;

/// <summary><c>modelzoo weights parity --reference onnx</c> end to end, in-process: real exports, real ONNX Runtime.</summary>
public sealed class OnnxParityCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-onnx-parity-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = Program.Run(args, new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>A trained-looking model: seeded, with BatchNorm statistics that are not the initial 0 and 1.</summary>
    static ZooModel Model(string arch, int seed, ArchitectureOptions options)
    {
        manual_seed(seed);
        var m = ArchitectureRegistry.Default.Create(arch, options);
        using (no_grad())
            foreach (var b in m.modules().OfType<TorchSharp.Modules.BatchNorm2d>())
            {
                b.running_mean!.copy_(randn_like(b.running_mean) * 0.1);
                b.running_var!.copy_(rand_like(b.running_var) + 0.5);
            }
        m.eval();
        return m;
    }

    string Export(ZooModel model, int inputSize = 32)
    {
        var path = Path.Combine(_dir, model.Architecture + ".onnx");
        OnnxExporter.Save(model, path, new OnnxExportOptions(inputSize));
        return path;
    }

    [Fact]
    public void ParityOnnx_ExitsZero_ForAnExport_LoadingTheModuleFromItsInitialisers_AndPrintsBothTolerances()
    {
        using var model = Model("mobilenet_v3_small", 1, new ArchitectureOptions(4));
        var onnx = Export(model);

        var (exit, output, error) = Run("weights", "parity", "--reference", "onnx", onnx, "--arch", "mobilenet_v3_small");

        error.ShouldBeEmpty();
        exit.ShouldBe(ExitCodes.Ok);
        output.ShouldContain("mobilenet_v3_small <- the initialisers of mobilenet_v3_small.onnx, by state_dict key");
        output.ShouldContain("logits [2, 4] vs logits: max abs diff");
        output.ShouldContain("max rel diff");
        output.ShouldContain("(atol 0.0001, rtol 0.0001): PASS");
    }

    [Fact]
    public void ParityOnnx_ExitsOne_WhenTheWeightsAreNotTheFilesModel()
    {
        using var exported = Model("resnet18", 1, new ArchitectureOptions(3));
        var onnx = Export(exported);
        using var other = Model("resnet18", 2, new ArchitectureOptions(3));
        var weights = Path.Combine(_dir, "other.safetensors");
        SafeTensors.Save(weights, other.state_dict());
        var same = Path.Combine(_dir, "same.safetensors");
        SafeTensors.Save(same, exported.state_dict());

        var (exit, output, error) = Run("weights", "parity", "--reference", "onnx", onnx, "--arch", "resnet18", "--weights", same);
        error.ShouldBeEmpty();
        exit.ShouldBe(ExitCodes.Ok, output);
        output.ShouldContain("resnet18 <- same.safetensors (sha256 ");

        (exit, output, error) = Run("weights", "parity", "--reference", "onnx", onnx, "--arch", "resnet18", "--weights", weights);
        error.ShouldBeEmpty();
        exit.ShouldBe(ExitCodes.Failed, output);
        output.ShouldContain("FAIL, ");
        output.ShouldContain("elements not close");
    }

    [Fact]
    public void ParityOnnx_ComparesAnExportedBert_OnPaddedTokens_WithTheConfigTheFileRecords()
    {
        var config = BertConfig.FromJson("""{ "vocab_size": 50, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32, "max_position_embeddings": 32 }""");
        manual_seed(3);
        using var model = new BertForSequenceClassification(config, 3);
        model.eval();
        var onnx = Export(model);

        var (exit, output, error) = Run("weights", "parity", "--reference", "onnx", onnx, "--arch", "bert", "--batch", "3", "--length", "9");

        error.ShouldBeEmpty();
        exit.ShouldBe(ExitCodes.Ok, output);
        output.ShouldContain("logits [3, 3] vs logits");
        output.ShouldContain("PASS");
    }

    [Fact]
    public void ParityOnnx_ImportsMlNetsResNet18_ByWalkingItsGraph_AndComparesThePooledFeatures()
    {
        var (exit, output, error) = Run("weights", "parity", "--reference", "onnx", OnnxTestFiles.MlNetResNet18, "--arch", "resnet18_cntk", "--input-scale", "128");

        error.ShouldBeEmpty();
        exit.ShouldBe(ExitCodes.Ok, output);
        output.ShouldContain("resnet18_cntk <- ResNet18.onnx, imported by walking its graph");
        output.ShouldContain("Pooling395_Output_0 [1, 512, 1, 1] vs pre-logits");
        output.ShouldContain("PASS");
    }

    [Theory]
    [InlineData("weights", "parity", "--reference", "onnx", "--arch", "resnet18")]
    [InlineData("weights", "parity", "--reference", "onnx", "NOT_ONNX", "--arch", "resnet18")]
    [InlineData("weights", "parity", "--reference", "onnx", "NOT_ONNX", "--arch", "no_such_arch")]
    public void ParityOnnx_ExitsTwo_OnBadInput_WithAMessage(params string[] args)
    {
        var notOnnx = TestFixtures.PathOf("resnet18_seed7.safetensors");
        var (exit, _, error) = Run([.. args.Select(a => a == "NOT_ONNX" ? notOnnx : a)]);
        exit.ShouldBe(ExitCodes.BadInput);
        error.ShouldStartWith("error: ");
    }
}
