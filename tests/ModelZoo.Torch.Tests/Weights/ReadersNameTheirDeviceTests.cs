using ModelZoo.Torch.Models;
using ModelZoo.Torch.Tests.Weights.Onnx;
using ModelZoo.Torch.Weights;
using ModelZoo.Torch.Weights.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Weights;

/// <summary>
/// libtorch's default device is process-wide, and the portal switches it to meta while it measures an architecture
/// (TorchRuntime.OnMeta). A weights reader that let the default decide once returned meta tensors to a run that was
/// loading its best epoch at that moment, and the run failed with "Reading data from non-CPU memory" (CI, bundled
/// weights test). Every reader names the CPU. Runs alone: it switches the default device itself.
/// </summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class ReadersNameTheirDeviceTests : IDisposable
{
    readonly TempFolder _tmp = new();
    public void Dispose() => _tmp.Dispose();

    static Dictionary<string, Tensor> WhileTheDefaultIsMeta(Func<Dictionary<string, Tensor>> read)
    {
        lock (ModelZoo.Torch.Native.TorchRuntime.ConstructionLock)
        {
            set_default_device(META);
            try { return read(); }
            finally { set_default_device(CPU); }
        }
    }

    static void ShouldAllBeOnTheCpu(Dictionary<string, Tensor> state)
    {
        try
        {
            state.ShouldNotBeEmpty();
            state.Values.ShouldAllBe(t => t.device_type == DeviceType.CPU);
        }
        finally { StateDicts.Dispose(state.Values); }
    }

    [Fact]
    public void SafeTensors_PthAndTorchSharpFiles_LoadOnTheCpu_WhileAnotherThreadBuildsOnMeta()
    {
        ShouldAllBeOnTheCpu(WhileTheDefaultIsMeta(() => SafeTensors.Load(TestFixtures.PathOf("resnet18_seed7.safetensors"))));
        ShouldAllBeOnTheCpu(WhileTheDefaultIsMeta(() => PthReader.Load(TestFixtures.PathOf("mobilenet_v2_seed7.pth"))));

        var path = _tmp.PathOf("state.dat");
        TorchSharpFormat.Save(path, new Dictionary<string, Tensor> { ["w"] = ones(3, device: CPU), ["n"] = tensor(5L, device: CPU) });
        ShouldAllBeOnTheCpu(WhileTheDefaultIsMeta(() => TorchSharpFormat.Load(path)));
    }

    [Fact]
    public void OnnxInitialisers_LoadOnTheCpu_WhileAnotherThreadBuildsOnMeta()
    {
        using var model = ArchitectureRegistry.Default.Create("resnet18_cntk");
        ShouldAllBeOnTheCpu(WhileTheDefaultIsMeta(() => OnnxImporter.ReadStateDict(OnnxTestFiles.MlNetResNet18, model).StateDict));
    }
}
