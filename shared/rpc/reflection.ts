/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha), answering with each file's
 * FileDescriptorProto followed by those of all the files it imports, so strict clients
 * such as grpcurl can resolve imported types like google.protobuf.Timestamp.
 */
import { toBinary, type DescFile, type DescMessage, type DescService, type MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  ServerReflection as ReflectionV1,
  type ServerReflectionRequest,
  type ServerReflectionResponseSchema,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1Alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { registerService, type ServiceRegistration } from "./service-registration.js";

type ReflectionResponse = MessageInitShape<typeof ServerReflectionResponseSchema>;

/** Index of the files, symbols and extensions reachable from the served services. */
class DescriptorIndex {
  readonly files = new Map<string, DescFile>();
  readonly symbols = new Map<string, DescFile>();
  readonly extensionsByExtendee = new Map<string, { number: number; file: DescFile }[]>();

  constructor(readonly services: DescService[]) {
    for (const s of services) this.addFile(s.file);
  }

  private addFile(file: DescFile): void {
    if (this.files.has(file.proto.name)) return;
    this.files.set(file.proto.name, file);
    for (const dep of file.dependencies) this.addFile(dep);
    const addMessage = (m: DescMessage) => {
      this.symbols.set(m.typeName, file);
      m.nestedMessages.forEach(addMessage);
      for (const e of m.nestedEnums) this.symbols.set(e.typeName, file);
      for (const x of m.nestedExtensions) this.addExtension(x.extendee.typeName, x.number, file);
    };
    file.messages.forEach(addMessage);
    for (const e of file.enums) this.symbols.set(e.typeName, file);
    for (const s of file.services) {
      this.symbols.set(s.typeName, file);
      for (const m of s.methods) this.symbols.set(`${s.typeName}.${m.name}`, file);
    }
    for (const x of file.extensions) {
      this.symbols.set(x.typeName, file);
      this.addExtension(x.extendee.typeName, x.number, file);
    }
  }

  private addExtension(extendee: string, number: number, file: DescFile): void {
    const list = this.extensionsByExtendee.get(extendee) ?? [];
    list.push({ number, file });
    this.extensionsByExtendee.set(extendee, list);
  }

  /** The file that defines a symbol; also resolves fields and enum values through their parent. */
  fileOfSymbol(symbol: string): DescFile | undefined {
    const name = symbol.replace(/^\./, "");
    return this.symbols.get(name) ?? this.symbols.get(name.slice(0, Math.max(0, name.lastIndexOf("."))));
  }

  /** The file followed by all its transitive imports, each once, serialized. */
  withDependencies(file: DescFile): Uint8Array[] {
    const seen = new Set<string>();
    const out: Uint8Array[] = [];
    const visit = (f: DescFile) => {
      if (seen.has(f.proto.name)) return;
      seen.add(f.proto.name);
      out.push(toBinary(FileDescriptorProtoSchema, f.proto));
      f.dependencies.forEach(visit);
    };
    visit(file);
    return out;
  }
}

function answer(index: DescriptorIndex, request: ServerReflectionRequest): ReflectionResponse {
  const base = { validHost: request.host, originalRequest: request };
  const notFound = (message: string): ReflectionResponse => ({
    ...base,
    messageResponse: { case: "errorResponse", value: { errorCode: 5, errorMessage: message } },
  });
  const files = (file: DescFile | undefined, what: string): ReflectionResponse =>
    file
      ? { ...base, messageResponse: { case: "fileDescriptorResponse", value: { fileDescriptorProto: index.withDependencies(file) } } }
      : notFound(what);
  const q = request.messageRequest;
  switch (q.case) {
    case "listServices":
      return {
        ...base,
        messageResponse: { case: "listServicesResponse", value: { service: index.services.map((s) => ({ name: s.typeName })) } },
      };
    case "fileByFilename":
      return files(index.files.get(q.value), `file not found: ${q.value}`);
    case "fileContainingSymbol":
      return files(index.fileOfSymbol(q.value), `symbol not found: ${q.value}`);
    case "fileContainingExtension": {
      const hit = index.extensionsByExtendee.get(q.value.containingType)?.find((x) => x.number === q.value.extensionNumber);
      return files(hit?.file, `extension not found: ${q.value.containingType} ${q.value.extensionNumber}`);
    }
    case "allExtensionNumbersOfType": {
      if (!index.symbols.has(q.value)) return notFound(`type not found: ${q.value}`);
      const numbers = (index.extensionsByExtendee.get(q.value) ?? []).map((x) => x.number);
      return { ...base, messageResponse: { case: "allExtensionNumbersResponse", value: { baseTypeName: q.value, extensionNumber: numbers } } };
    }
    default:
      return { ...base, messageResponse: { case: "errorResponse", value: { errorCode: 3, errorMessage: "empty reflection request" } } };
  }
}

/** Names of the reflection services. */
export const reflectionServiceNames: readonly string[] = [ReflectionV1.typeName, ReflectionV1Alpha.typeName];

/** Registrations of the reflection services (v1 and v1alpha) describing the given services. */
export function reflectionServices(services: DescService[]): ServiceRegistration[] {
  const index = new DescriptorIndex([...services, ReflectionV1, ReflectionV1Alpha]);
  const impl: ServiceImpl<typeof ReflectionV1> = {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) yield answer(index, request);
    },
  };
  // v1alpha has the same message shapes as v1 under another package name.
  const alphaImpl = impl as unknown as ServiceImpl<typeof ReflectionV1Alpha>;
  return [registerService(ReflectionV1, impl, "public"), registerService(ReflectionV1Alpha, alphaImpl, "public")];
}
