using Microsoft.ML.OnnxRuntime;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Weights;
using ModelZoo.Torch.Weights.Onnx;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Weights.Onnx;

/// <summary>
/// The imported resnet18_cntk computes what ML.NET's ResNet-18 file computes in ONNX Runtime: the same random input
/// through both, pre-logit pooled features compared as torch.testing.assert_close compares.
/// </summary>
public sealed class OnnxResNetParityTests(ITestOutputHelper output)
{
    /// <summary>
    /// Inputs are on the scale the model is fed (BGR on 0-255 minus a mean image, so about -128 to 128), and the
    /// features reach about 10. Measured on the 2-core AMD EPYC development machine: max abs error 5.7e-6, inside even
    /// torch's float32 defaults (atol 1e-5, rtol 1.3e-6). Two fp32 implementations of 22 convolutions (libtorch's
    /// oneDNN, ONNX Runtime's MLAS) sum in orders that depend on the CPU's vector width, so the test leaves ten times
    /// that margin; a wrong key, BatchNorm field or pad errs by orders of magnitude more.
    /// </summary>
    const double Atol = 1e-4, Rtol = 1e-4;

    static float[] RandomInput(int seed, int count)
    {
        var rng = new Random(seed);
        var data = new float[count];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 256 - 128);
        return data;
    }

    [Fact]
    public void ImportedResNet18Cntk_MatchesOnnxRuntime_OnThePooledFeatures()
    {
        var path = OnnxTestFiles.MlNetResNet18;
        long[] shape = [1, 3, 224, 224];
        var data = RandomInput(20261213, 3 * 224 * 224);

        float[] expected;
        using (var session = new InferenceSession(path))
        using (var input = OrtValue.CreateTensorValueFromMemory(data, shape))
        using (var options = new RunOptions())
        {
            session.InputNames.ShouldBe(["Input247"]);
            using var results = session.Run(options, session.InputNames, [input], session.OutputNames);
            results[0].GetTensorTypeAndShape().Shape.ShouldBe([1L, 512L, 1L, 1L]);
            expected = results[0].GetTensorDataAsSpan<float>().ToArray();
        }

        using var scope = NewDisposeScope();
        using var model = ArchitectureRegistry.Default.Create("resnet18_cntk");
        OnnxImporter.Import(path, model);
        model.eval();
        Tensor features;
        using (no_grad())
            features = model.ForwardHead(model.ForwardFeatures(tensor(data, shape, device: CPU)), preLogits: true);

        var closeness = Closeness.Measure(features, tensor(expected, [1, 512], device: CPU), Atol, Rtol);
        output.WriteLine($"resnet18_cntk vs ONNX Runtime, 1x3x224x224 in [-128, 128): {closeness}; " +
                         $"features in [{features.min().item<float>():G4}, {features.max().item<float>():G4}]; " +
                         $"at torch's float32 defaults: {Closeness.Measure(features, tensor(expected, [1, 512], device: CPU), Closeness.Float32Atol, Closeness.Float32Rtol)}");
        closeness.Passed.ShouldBeTrue(closeness.ToString());
    }
}
