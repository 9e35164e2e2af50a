using System.CommandLine;
using ModelZoo.Cli;
using ModelZoo.Torch.Tests;

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

    static readonly string Weights = SharedFixtures.PathOf("resnet18_seed7.safetensors");
    static readonly string Io = SharedFixtures.PathOf("resnet18_seed7.io.safetensors");

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
    public void Parity_ExitsOne_WhenTheDifferenceIsAboveTheThreshold()
    {
        var (exit, output, _) = Run("weights", "parity", "--arch", "resnet18", "--weights", Weights, "--io", Io, "--threshold", "1e-12");
        exit.ShouldBe(ExitCodes.Failed);
        output.ShouldContain("FAIL");
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
}
